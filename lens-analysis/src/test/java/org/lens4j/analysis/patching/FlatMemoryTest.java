package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.patching.PathPatching.Node;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;

/**
 * Long runs of sweeps keep native memory flat: no array is left behind in the caller's or the model's
 * manager, and the process's resident memory stops growing after warm-up.
 */
class FlatMemoryTest {

    /** Resident set size after a collection (so Java heap garbage does not count), in KiB. */
    private static long rssKb() throws IOException {
        System.gc();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void repeatedSweepsLeaveNothingBehind() throws IOException {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(4).dModel(128).nHeads(4).dHead(32)
                .dMlp(512).dVocab(500).nCtx(64).actFn("gelu_new").seed(3L).build();
        PatchingOptions options = PatchingOptions.DEFAULT.withProgress(false).withMaxRowsPerForward(64);
        try (HookedTransformer model = HookedTransformer.init(cfg); NDManager manager = NDManager.newBaseManager()) {
            NDArray clean = manager.randomInteger(0, 500, new ai.djl.ndarray.types.Shape(2, 8),
                    ai.djl.ndarray.types.DataType.INT64);
            NDArray corrupted = clean.duplicate();
            corrupted.set(new ai.djl.ndarray.index.NDIndex(":, 3"), 7);
            NDArray prompt = clean.get(0);
            PatchingMetric metric = PatchingMetric.logitDiff(11, 7);
            try (CachedRun cleanRun = model.runWithCache(clean)) {
                Runnable sweeps = () -> {
                    ActivationPatching fast = ActivationPatching.of(model, options);
                    fast.sweep(PatchSweep.RESID_PRE, corrupted, cleanRun.cache(), metric);
                    fast.sweep(PatchSweep.ATTN_HEAD_PATTERN_ALL_POS, corrupted, cleanRun.cache(), metric);
                    ActivationPatching.of(model, options.withFast(false))
                            .sweep(PatchSweep.ATTN_HEAD_V_ALL_POS, corrupted, cleanRun.cache(), metric);
                    PathPatching.of(model, options, false).sweepSenderHeads(corrupted, cleanRun.cache(), metric,
                            List.of(Node.headInput(3, 1, "q"), Node.of("blocks.3.hook_resid_post")));
                    try (AttributionPatching attr = AttributionPatching.run(model, corrupted, cleanRun.cache(), metric)) {
                        attr.sweep(PatchSweep.ATTN_HEAD_OUT_BY_POS);
                    }
                    CausalTracing.builder(model).samples(3).options(options).build()
                            .trace(prompt, 2, 4, CausalTracing.answerProbability(11));
                };
                for (int i = 0; i < 2; i++) {
                    sweeps.run();
                }
                int arrays = manager.getManagedArrays().size();
                int modelArrays = model.manager().getManagedArrays().size();
                // malloc arenas make the RSS wobble by some MiB: compare the lowest readings of two halves
                long[] rss = new long[6];
                for (int i = 0; i < rss.length; i++) {
                    sweeps.run();
                    rss[i] = rssKb();
                }
                long firstHalf = java.util.Arrays.stream(rss, 0, 3).min().orElseThrow();
                long secondHalf = java.util.Arrays.stream(rss, 3, 6).min().orElseThrow();
                System.out.printf("RSS after each of 6 rounds of sweeps (KiB): %s%n", java.util.Arrays.toString(rss));
                assertThat(manager.getManagedArrays()).hasSize(arrays);
                assertThat(model.manager().getManagedArrays()).hasSize(modelArrays);
                assertThat(secondHalf - firstHalf).as("RSS growth in KiB").isLessThan(24 * 1024);
            }
        }
    }
}
