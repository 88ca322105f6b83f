package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/**
 * Every {@code patching.*} result of the TransformerLens 2.12 fixtures ({@code analysis.safetensors}) from the
 * functions of the same names ({@link Patching}, fast path), and some on TransformerLens's plain loop of one
 * forward pass per patch ({@link FastPathTest} compares the two paths on every kind of patch).
 */
class PatchingFixtureTest {

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

    /** A TransformerLens patching function: {@code fn(model, corrupted_tokens, clean_cache, metric)}. */
    private interface PatchingFunction {
        PatchingResult apply(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
                PatchingMetric metric);
    }

    /** The fixture's result names and lens4j's functions of the same names (default options: fast path). */
    private static final Map<String, PatchingFunction> FUNCTIONS = Map.ofEntries(
            Map.entry("resid_pre", Patching::getActPatchResidPre),
            Map.entry("resid_mid", Patching::getActPatchResidMid),
            Map.entry("attn_out", Patching::getActPatchAttnOut),
            Map.entry("mlp_out", Patching::getActPatchMlpOut),
            Map.entry("attn_head_out_all_pos", Patching::getActPatchAttnHeadOutAllPos),
            Map.entry("attn_head_out_by_pos", Patching::getActPatchAttnHeadOutByPos),
            Map.entry("attn_head_v_all_pos", Patching::getActPatchAttnHeadVAllPos),
            Map.entry("attn_head_pattern_all_pos", Patching::getActPatchAttnHeadPatternAllPos),
            Map.entry("attn_head_pattern_dest_src_pos", Patching::getActPatchAttnHeadPatternDestSrcPos),
            Map.entry("block_every", Patching::getActPatchBlockEvery),
            Map.entry("attn_head_all_pos_every", Patching::getActPatchAttnHeadAllPosEvery),
            Map.entry("attn_head_by_pos_every", Patching::getActPatchAttnHeadByPosEvery));

    /** The fixture's results also checked on the plain loop, by sweep. */
    private static final Map<String, PatchSweep> PLAIN_TOO = Map.of("resid_pre", PatchSweep.RESID_PRE,
            "attn_out", PatchSweep.ATTN_OUT, "attn_head_out_all_pos", PatchSweep.ATTN_HEAD_OUT_ALL_POS,
            "attn_head_v_all_pos", PatchSweep.ATTN_HEAD_V_ALL_POS,
            "attn_head_pattern_all_pos", PatchSweep.ATTN_HEAD_PATTERN_ALL_POS);

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void everyPatchingResultMatchesTransformerLens(String name) {
        Map<String, NDArray> expected = Fixtures.tensors(name, "analysis.safetensors", manager);
        NDArray clean = expected.get("patching.clean_tokens");
        NDArray corrupted = expected.get("patching.corrupted_tokens");
        long[] answers = expected.get("patching.answer_tokens").toLongArray();
        PatchingMetric metric = PatchingMetric.logitDiff(answers[0], answers[1]);
        try (HookedTransformer model = FixtureModels.load(name, manager); CachedRun cleanRun = model.runWithCache(clean)) {
            ActivationPatching patching = ActivationPatching.of(model);
            assertClose("clean_metric", scalar(patching.metric(clean, metric)),
                    expected.get("patching.clean_metric"), ATOL);
            assertClose("corrupted_metric", scalar(patching.metric(corrupted, metric)),
                    expected.get("patching.corrupted_metric"), ATOL);
            List<String> done = patchingDone(name);
            assertThat(FUNCTIONS.keySet()).containsAll(done);
            for (String fn : done) {
                PatchingResult r = FUNCTIONS.get(fn).apply(model, corrupted, cleanRun.cache(), metric);
                assertClose(fn, r.toNDArray(manager), expected.get("patching." + fn), ATOL);
            }
            // generic_activation_patch, with index axes and with an explicit index list
            PatchingResult generic = Patching.genericActivationPatch(model, corrupted, cleanRun.cache(), metric,
                    PatchSetter.LAYER_POS_HEAD_VECTOR, "z", List.of("layer", "pos", "head"));
            assertClose("generic z by pos", generic.toNDArray(manager), expected.get("patching.attn_head_out_by_pos"),
                    ATOL);
            PatchingResult listed = Patching.genericActivationPatch(model, corrupted, cleanRun.cache(), metric,
                    PatchSetter.LAYER_POS, "attn_out", new int[][] {{0, 7}, {0, 2}});
            NDArray attnOut = expected.get("patching.attn_out");
            assertThat(listed.get(0)).isCloseTo(attnOut.getFloat(0, 7), org.assertj.core.data.Offset.offset(ATOL));
            assertThat(listed.get(1)).isCloseTo(attnOut.getFloat(0, 2), org.assertj.core.data.Offset.offset(ATOL));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void thePlainLoopMatchesTransformerLens(String name) {
        Map<String, NDArray> expected = Fixtures.tensors(name, "analysis.safetensors", manager);
        NDArray corrupted = expected.get("patching.corrupted_tokens");
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun cleanRun = model.runWithCache(expected.get("patching.clean_tokens"))) {
            ActivationPatching plain = ActivationPatching.of(model,
                    PatchingOptions.DEFAULT.withFast(false).withProgress(false));
            for (String fn : patchingDone(name)) {
                if (PLAIN_TOO.containsKey(fn)) {
                    PatchingResult r = plain.sweep(PLAIN_TOO.get(fn), corrupted, cleanRun.cache(), metric);
                    assertClose(fn, r.toNDArray(manager), expected.get("patching." + fn), ATOL);
                }
            }
        }
    }

    private static List<String> patchingDone(String name) {
        return List.of(FixtureMetadata.read(name, "analysis.safetensors").get("patching_done").split(","));
    }

    private NDArray scalar(double v) {
        return manager.create((float) v);
    }
}
