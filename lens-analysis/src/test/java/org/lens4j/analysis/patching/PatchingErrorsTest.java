package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/** Bad input to activation patching fails with a message naming the culprit, on both paths. */
class PatchingErrorsTest {

    private static final PatchingMetric METRIC = PatchingMetric.logitDiff(7, 13);

    private NDManager manager;
    private HookedTransformer model;
    private NDArray clean;
    private NDArray corrupted;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        model = FixtureModels.load("solu_ln_1l", manager);
        Map<String, NDArray> a = Fixtures.tensors("solu_ln_1l", "analysis.safetensors", manager);
        clean = a.get("patching.clean_tokens");
        corrupted = a.get("patching.corrupted_tokens");
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    private ActivationPatching patching(boolean fast) {
        return ActivationPatching.of(model, PatchingOptions.DEFAULT.withProgress(false).withFast(fast));
    }

    @Test
    void aCleanCacheOfAnotherBatchSize() {
        try (CachedRun one = model.runWithCache(clean.get(new NDIndex("0:1")))) {
            assertThatThrownBy(() -> patching(true).sweep(PatchSweep.RESID_PRE, corrupted, one.cache(), METRIC))
                    .hasMessageContaining("clean activation 'blocks.0.hook_resid_pre' has shape (1, 8, 64)")
                    .hasMessageContaining("corrupted tokens are (2, 8)");
        }
    }

    @Test
    void aCleanCacheOfAnotherLength() {
        for (boolean fast : new boolean[] {true, false}) {
            try (CachedRun shorter = model.runWithCache(clean.get(new NDIndex(":, 0:6")))) {
                assertThatThrownBy(() -> patching(fast).sweep(PatchSweep.ATTN_OUT, corrupted, shorter.cache(), METRIC))
                        .hasMessageContaining("blocks.0.hook_attn_out")
                        .hasMessageContaining("clean activation has shape (2, 6, 64) but the corrupted one has (2, 8, 64)");
            }
        }
    }

    @Test
    void aCacheWithoutTheActivationOrTheBatchAxis() {
        try (CachedRun partial = model.runWithCache(clean, "blocks.0.hook_resid_pre")) {
            assertThatThrownBy(() -> patching(true).sweep(PatchSweep.ATTN_OUT, corrupted, partial.cache(), METRIC))
                    .hasMessageContaining("no activation 'blocks.0.hook_attn_out'");
        }
        try (CachedRun single = model.runWithCache(clean.get(new NDIndex("0:1")))) {
            single.cache().removeBatchDim();
            assertThatThrownBy(() -> patching(true).sweep(PatchSweep.RESID_PRE, corrupted, single.cache(), METRIC))
                    .hasMessageContaining("no batch axis");
        }
    }

    @Test
    void badTokensIndicesAndNames() {
        try (CachedRun run = model.runWithCache(clean)) {
            assertThatThrownBy(() -> patching(true).sweep(PatchSweep.RESID_PRE, corrupted.toType(
                    ai.djl.ndarray.types.DataType.FLOAT32, false), run.cache(), METRIC))
                    .hasMessageContaining("tokens must be integer");
            assertThatThrownBy(() -> patching(true).patch("resid_pre", PatchSetter.LAYER_POS,
                    List.of(new int[] {0, 8}), corrupted, run.cache(), METRIC))
                    .hasMessageContaining("patch index [0, 8]: 8 is out of range for axis 1");
            assertThatThrownBy(() -> patching(false).patch("resid_pre", PatchSetter.LAYER_POS,
                    List.of(new int[] {0}), corrupted, run.cache(), METRIC))
                    .hasMessageContaining("patch index [0] must have 2 entries");
            assertThatThrownBy(() -> patching(true).patch("resid_pre", PatchSetter.LAYER_POS,
                    List.of(new int[] {1, 0}), corrupted, run.cache(), METRIC))
                    .hasMessageContaining("must start with a layer in [0, 1)");
            assertThatThrownBy(() -> patching(true).sweep(PatchSweep.of("resid_pree", PatchSetter.LAYER_POS, "layer",
                    "pos"), corrupted, run.cache(), METRIC))
                    .hasMessageContaining("blocks.0.hook_resid_pree");
            PatchSetter wrongShape = (act, index, cleanAct) -> cleanAct.get(new NDIndex(":, 0:1"));
            for (boolean fast : new boolean[] {true, false}) {
                assertThatThrownBy(() -> patching(fast).sweep(PatchSweep.of("resid_pre", wrongShape, "layer", "pos"),
                        corrupted, run.cache(), METRIC))
                        .hasMessageContaining("blocks.0.hook_resid_pre").hasMessageContaining("(2, 1, 64)");
            }
        }
    }
}
