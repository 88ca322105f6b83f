package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.ablation.Ablation;
import org.lens4j.analysis.patching.PathPatching.Node;
import org.lens4j.analysis.plot.Heatmap;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;

/**
 * The end-to-end experiment of docs/patching.md, written as a user writes one: find the circuit of a
 * model that repeats the token at position 2 (see {@link CopyCircuitModel}).
 */
class PatchingTutorialTest {

    @Test
    void findTheCircuitThatCopiesPosition2() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); HookedTransformer model = CopyCircuitModel.build(m)) {
            // Two prompts; the corrupted ones differ only at position 2. The answer is the token there.
            NDArray clean = m.create(new long[][] {{5, 1, 3, 8, 2, 9, 4, 6}, {0, 7, 2, 2, 5, 1, 8, 3}});
            NDArray corrupted = m.create(new long[][] {{5, 1, 7, 8, 2, 9, 4, 6}, {0, 7, 9, 2, 5, 1, 8, 3}});
            PatchingMetric logitDiff = PatchingMetric.logitDiff(new long[][] {{3, 7}, {2, 9}});

            try (CachedRun cleanRun = model.runWithCache(clean)) {
                ActivationPatching patching = ActivationPatching.of(model);
                double cleanDiff = logitDiff.value(cleanRun.logits());
                double corruptedDiff = patching.metric(corrupted, logitDiff);
                assertThat(cleanDiff).isCloseTo(4.0, within(1e-4));
                assertThat(corruptedDiff).isCloseTo(-4.0, within(1e-4));
                // 1 = the clean answer fully restored, 0 = still corrupted
                PatchingMetric restored = logitDiff.normalized(cleanDiff, corruptedDiff);

                // 1. Where does the answer live? The residual stream before each layer, by position.
                PatchingResult resid = patching.sweep(PatchSweep.RESID_PRE, corrupted, cleanRun.cache(), restored)
                        .withLabels("pos", List.of("5", "1", "3*", "8", "2", "9", "4", "6"));
                assertThat(resid.get(0, 2)).isCloseTo(1.0, within(1e-4)); // before layer 0: at the changed token
                assertThat(resid.get(1, 3)).isCloseTo(1.0, within(1e-4)); // before layer 1: moved to position 3
                assertThat(resid.get(1, 2)).isCloseTo(0.0, within(1e-4)); // ... and no longer needed at 2
                Path out = Files.createDirectories(Path.of("target", "patching-tutorial"));
                Heatmap.of(resid).title("resid_pre patching (normalised logit diff)").writePng(out.resolve("resid_pre.png"));
                Heatmap.of(resid).writeCsv(out.resolve("resid_pre.csv"));

                // 2. Which heads? Patch each head's output at all positions.
                PatchingResult heads = patching.sweep(PatchSweep.ATTN_HEAD_OUT_ALL_POS, corrupted, cleanRun.cache(),
                        restored);
                Heatmap.of(heads).title("head output patching").writePng(out.resolve("heads.png"));
                assertThat(heads.get(0, 0)).isCloseTo(1.0, within(1e-4));
                assertThat(heads.get(1, 0)).isCloseTo(1.0, within(1e-4));
                assertThat(heads.get(0, 1)).isCloseTo(0.0, within(1e-4));
                assertThat(heads.get(1, 1)).isCloseTo(0.0, within(1e-4));

                // 3. The same picture from one forward and one backward pass: attribution patching.
                try (AttributionPatching attr = AttributionPatching.run(model, corrupted, cleanRun.cache(), restored)) {
                    // estimates of the metric change; here the circuit is linear in each head, so they are exact
                    PatchingResult estimate = attr.sweep(PatchSweep.ATTN_HEAD_OUT_ALL_POS);
                    assertThat(estimate.get(0, 0)).isCloseTo(1.0, within(1e-4));
                    assertThat(estimate.get(1, 0)).isCloseTo(1.0, within(1e-4));
                    assertThat(estimate.get(0, 1)).isCloseTo(0.0, within(1e-4));
                }

                // 4. How do the two heads talk? Path patching from L0H0 into L1H0's inputs and into the logits.
                PathPatching paths = PathPatching.of(model);
                double viaValues = paths.patch(corrupted, cleanRun.cache(), restored, List.of(Node.head(0, 0)),
                        List.of(Node.headInput(1, 0, "v")));
                double viaQueries = paths.patch(corrupted, cleanRun.cache(), restored, List.of(Node.head(0, 0)),
                        List.of(Node.headInput(1, 0, "q")));
                double direct = paths.patch(corrupted, cleanRun.cache(), restored, List.of(Node.head(0, 0)),
                        List.of(Node.of("blocks.1.hook_resid_post")));
                assertThat(viaValues).isCloseTo(1.0, within(1e-4)); // V-composition
                assertThat(viaQueries).isCloseTo(0.0, within(1e-4));
                assertThat(direct).isCloseTo(0.0, within(1e-4));

                // 5. Knock L0H0 out on the clean prompts: the model can no longer tell the two answers apart.
                NDArray ablated = model.runWithHooks(clean, Ablation.zero("z", 0).heads(0).hook());
                assertThat(logitDiff.value(ablated)).isCloseTo(0.0, within(1e-4));
            }
        }
    }
}
