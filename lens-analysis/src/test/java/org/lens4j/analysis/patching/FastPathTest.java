package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.CachedRun;
import org.lens4j.core.Hook;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/** The fast path (batched, started at the patched layer) gives the plain loop's numbers. */
class FastPathTest {

    private static final double ATOL = 1e-5;

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private Map<String, NDArray> analysis(String name) {
        return Fixtures.tensors(name, "analysis.safetensors", manager);
    }

    /** Few rows per forward pass, so sweeps span several passes and start layers. */
    private static final PatchingOptions SMALL_PASSES =
            PatchingOptions.DEFAULT.withProgress(false).withMaxRowsPerForward(6);
    private static final PatchingOptions PLAIN = PatchingOptions.DEFAULT.withProgress(false).withFast(false);

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer"})
    void everySweepKindMatchesThePlainLoop(String name) {
        Map<String, NDArray> a = analysis(name);
        NDArray corrupted = a.get("patching.corrupted_tokens");
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        Random random = new Random(3);
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(a.get("patching.clean_tokens"))) {
            ActivationPatching fast = ActivationPatching.of(model, SMALL_PASSES);
            ActivationPatching plain = ActivationPatching.of(model, PLAIN);
            List<PatchSweep> sweeps = new ArrayList<>(List.of(PatchSweep.RESID_PRE, PatchSweep.RESID_POST,
                    PatchSweep.ATTN_OUT, PatchSweep.ATTN_HEAD_OUT_BY_POS, PatchSweep.ATTN_HEAD_Q_BY_POS,
                    PatchSweep.ATTN_HEAD_K_ALL_POS, PatchSweep.ATTN_HEAD_V_BY_POS, PatchSweep.ATTN_HEAD_PATTERN_BY_POS,
                    PatchSweep.of("attn_scores", PatchSetter.LAYER_HEAD_POS_PATTERN, "layer", "head", "dest_pos")));
            if (!model.config().attnOnly()) {
                sweeps.add(PatchSweep.RESID_MID);
                sweeps.add(PatchSweep.MLP_OUT);
                sweeps.add(PatchSweep.of("post", PatchSetter.LAYER_POS, "layer", "pos"));
            }
            for (PatchSweep s : sweeps) {
                // ten random patches of each kind, some of them before the corrupted position (no-ops)
                List<int[]> all = s.indices(model.config(), corrupted.getShape().get(1));
                List<int[]> some = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    some.add(all.get(random.nextInt(all.size())));
                }
                PatchingResult f = fast.patch(s.activationName(), s.setter(), some, corrupted, clean.cache(), metric);
                PatchingResult p = plain.patch(s.activationName(), s.setter(), some, corrupted, clean.cache(), metric);
                assertClose(s.activationName() + " " + s.axisNames(), f.toNDArray(manager), p.toNDArray(manager), ATOL);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer"})
    void explicitIndicesMatchThePlainLoopAndTheFullSweep(String name) {
        Map<String, NDArray> a = analysis(name);
        NDArray corrupted = a.get("patching.corrupted_tokens");
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        Random random = new Random(5);
        List<int[]> indices = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            indices.add(new int[] {random.nextInt(2), random.nextInt(4), random.nextInt(8), random.nextInt(8)});
        }
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(a.get("patching.clean_tokens"))) {
            PatchSetter setter = PatchSetter.LAYER_HEAD_DEST_SRC_POS_PATTERN;
            PatchingResult f = ActivationPatching.of(model, SMALL_PASSES)
                    .patch("pattern", setter, indices, corrupted, clean.cache(), metric);
            PatchingResult p = ActivationPatching.of(model, PLAIN)
                    .patch("pattern", setter, indices, corrupted, clean.cache(), metric);
            assertThat(f.axisNames()).containsExactly("patch");
            assertClose("pattern dest/src", f.toNDArray(manager), p.toNDArray(manager), ATOL);
            NDArray expected = a.get("patching.attn_head_pattern_dest_src_pos");
            for (int i = 0; i < indices.size(); i++) {
                int[] idx = indices.get(i);
                float tl = expected.getFloat(idx[0], idx[1], idx[2], idx[3]);
                assertThat(f.get(i)).as("index %d", i).isCloseTo(tl, org.assertj.core.data.Offset.offset(ATOL));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aCustomSetterTakesTheGeneralPathWithTheSameNumbers(boolean fast) {
        String name = "gpt2_style_2l";
        Map<String, NDArray> a = analysis(name);
        NDArray corrupted = a.get("patching.corrupted_tokens");
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        // The same patch as LAYER_POS, written as a user would, so the runner cannot batch it in one operation.
        PatchSetter custom = (act, index, cleanAct) -> {
            NDArray out = act.duplicate();
            out.set(new NDIndex(":, {}", index[1]), cleanAct.get(new NDIndex(":, {}", index[1])));
            return out;
        };
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(a.get("patching.clean_tokens"))) {
            PatchingOptions options = fast ? SMALL_PASSES : PLAIN;
            PatchingResult r = ActivationPatching.of(model, options)
                    .sweep(PatchSweep.of("resid_mid", custom, "layer", "pos"), corrupted, clean.cache(), metric);
            assertClose("custom resid_mid", r.toNDArray(manager), a.get("patching.resid_mid"), ATOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void patchingTheWholeCleanCacheRestoresTheCleanMetric(String name) {
        Map<String, NDArray> a = analysis(name);
        NDArray cleanTokens = a.get("patching.clean_tokens");
        NDArray corrupted = a.get("patching.corrupted_tokens");
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        try (HookedTransformer model = FixtureModels.load(name, manager); CachedRun clean = model.runWithCache(cleanTokens)) {
            double cleanMetric = metric.value(clean.logits());
            // every cached activation replaced by its clean value
            NDArray logits = model.runWithHooks(corrupted,
                    Hook.matching(clean.cache()::contains, (act, hp) -> clean.cache().get(hp.name()).duplicate()));
            assertThat(metric.value(logits)).isEqualTo(cleanMetric);
            // the whole residual stream before any block, on both paths
            List<int[]> everyLayer = new ArrayList<>();
            for (int l = 0; l < model.config().nLayers(); l++) {
                everyLayer.add(new int[] {l});
            }
            PatchingResult plain = ActivationPatching.of(model, PLAIN)
                    .patch("resid_pre", new PatchRegion(), everyLayer, corrupted, clean.cache(), metric);
            PatchingResult fast = ActivationPatching.of(model, SMALL_PASSES)
                    .patch("resid_pre", new PatchRegion(), everyLayer, corrupted, clean.cache(), metric);
            for (int l = 0; l < everyLayer.size(); l++) {
                assertThat(plain.get(l)).as("plain, layer %d", l).isEqualTo(cleanMetric);
                assertThat(fast.get(l)).as("fast, layer %d", l)
                        .isCloseTo(cleanMetric, org.assertj.core.data.Offset.offset(ATOL));
            }
            assertThat(cleanMetric).isEqualTo(a.get("patching.clean_metric").getFloat(), 
                    org.assertj.core.data.Offset.offset(ATOL));
        }
    }
}
