package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/** A sweep with the progress bar on reports its patches on stderr; with it off, it prints nothing. */
class ProgressBarTest {

    private static String stderrOf(boolean progress) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (NDManager manager = NDManager.newBaseManager();
                HookedTransformer model = FixtureModels.load("solu_ln_1l", manager)) {
            Map<String, NDArray> a = Fixtures.tensors("solu_ln_1l", "analysis.safetensors", manager);
            try (CachedRun clean = model.runWithCache(a.get("patching.clean_tokens"))) {
                System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
                ActivationPatching.of(model, PatchingOptions.DEFAULT.withProgress(progress)).sweep(
                        PatchSweep.ATTN_HEAD_OUT_BY_POS, a.get("patching.corrupted_tokens"), clean.cache(),
                        PatchingMetric.logitDiff(7, 13));
            }
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theBarShowsTheTaskAndTheCount() {
        String shown = stderrOf(true);
        assertThat(shown).contains("patching z").contains("32/32");
        assertThat(stderrOf(false)).isEmpty();
    }
}
