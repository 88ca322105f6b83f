package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/**
 * Every {@code patching.*} result of the TransformerLens 2.12 fixtures ({@code analysis.safetensors}) on the
 * fast path, and some on TransformerLens's plain loop of one forward pass per patch ({@link FastPathTest}
 * compares the two paths on every kind of patch).
 */
class PatchingFixtureTest {

    private static final double ATOL = 1e-5;

    /** The results also checked on the plain loop (the fast path is compared with it on all kinds of patch). */
    private static final Set<String> PLAIN_TOO = Set.of("resid_pre", "attn_out", "attn_head_out_all_pos",
            "attn_head_v_all_pos", "attn_head_pattern_all_pos");

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @ParameterizedTest
    @CsvSource({"gpt2_style_2l,true", "gpt2_style_2l,false", "attn_only_2l_shortformer,true",
            "attn_only_2l_shortformer,false", "solu_ln_1l,true", "solu_ln_1l,false"})
    void everyPatchingResultMatchesTransformerLens(String name, boolean fast) {
        Map<String, NDArray> expected = Fixtures.tensors(name, "analysis.safetensors", manager);
        NDArray clean = expected.get("patching.clean_tokens");
        NDArray corrupted = expected.get("patching.corrupted_tokens");
        long[] answers = expected.get("patching.answer_tokens").toLongArray();
        PatchingMetric metric = PatchingMetric.logitDiff(answers[0], answers[1]);
        PatchingOptions options = PatchingOptions.DEFAULT.withFast(fast).withProgress(false);
        try (HookedTransformer model = FixtureModels.load(name, manager); CachedRun cleanRun = model.runWithCache(clean)) {
            ActivationPatching patching = ActivationPatching.of(model, options);
            assertClose("clean_metric", scalar(patching.metric(clean, metric)),
                    expected.get("patching.clean_metric"), ATOL);
            assertClose("corrupted_metric", scalar(patching.metric(corrupted, metric)),
                    expected.get("patching.corrupted_metric"), ATOL);
            Function<PatchSweep, PatchingResult> sweep = s -> patching.sweep(s, corrupted, cleanRun.cache(), metric);
            Map<String, Function<Void, PatchingResult>> functions = Map.ofEntries(
                    Map.entry("resid_pre", v -> sweep.apply(PatchSweep.RESID_PRE)),
                    Map.entry("resid_mid", v -> sweep.apply(PatchSweep.RESID_MID)),
                    Map.entry("attn_out", v -> sweep.apply(PatchSweep.ATTN_OUT)),
                    Map.entry("mlp_out", v -> sweep.apply(PatchSweep.MLP_OUT)),
                    Map.entry("attn_head_out_all_pos", v -> sweep.apply(PatchSweep.ATTN_HEAD_OUT_ALL_POS)),
                    Map.entry("attn_head_out_by_pos", v -> sweep.apply(PatchSweep.ATTN_HEAD_OUT_BY_POS)),
                    Map.entry("attn_head_v_all_pos", v -> sweep.apply(PatchSweep.ATTN_HEAD_V_ALL_POS)),
                    Map.entry("attn_head_pattern_all_pos", v -> sweep.apply(PatchSweep.ATTN_HEAD_PATTERN_ALL_POS)),
                    Map.entry("attn_head_pattern_dest_src_pos",
                            v -> sweep.apply(PatchSweep.ATTN_HEAD_PATTERN_DEST_SRC_POS)),
                    Map.entry("block_every", v -> patching.blockEvery(corrupted, cleanRun.cache(), metric)),
                    Map.entry("attn_head_all_pos_every",
                            v -> patching.attnHeadAllPosEvery(corrupted, cleanRun.cache(), metric)),
                    Map.entry("attn_head_by_pos_every",
                            v -> patching.attnHeadByPosEvery(corrupted, cleanRun.cache(), metric)));
            List<String> done = List.of(FixtureMetadata.read(name, "analysis.safetensors").get("patching_done").split(","));
            assertThat(functions.keySet()).containsAll(done);
            for (String fn : done) {
                if (!fast && !PLAIN_TOO.contains(fn)) {
                    continue;
                }
                PatchingResult r = functions.get(fn).apply(null);
                assertClose(fn, r.toNDArray(manager), expected.get("patching." + fn), ATOL);
            }
        }
    }

    private NDArray scalar(double v) {
        return manager.create((float) v);
    }
}
