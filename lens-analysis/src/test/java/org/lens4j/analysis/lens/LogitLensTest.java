package org.lens4j.analysis.lens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.analysis.AnalysisFixtures;
import org.lens4j.analysis.lens.LogitLens.Normalization;
import org.lens4j.analysis.lens.LogitLens.Options;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LabelledStack;
import org.lens4j.core.testing.FixtureMetadata;

/** The logit lens against TransformerLens 2.12's reference and an independent float64 computation. */
class LogitLensTest {

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

    private static Options cachedScale(FixtureMetadata meta) {
        boolean inclMid = Boolean.parseBoolean(meta.get("accumulated_resid.incl_mid").toLowerCase());
        return Options.defaults().inclMid(inclMid).normalization(Normalization.CACHED_SCALE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void cachedScaleLogitsMatchTransformerLens(String name) {
        Map<String, NDArray> expected = AnalysisFixtures.tensors(name, "analysis.safetensors", manager);
        FixtureMetadata meta = FixtureMetadata.read(name, "analysis.safetensors");
        NDArray tokens = AnalysisFixtures.tokens(name, manager);
        try (HookedTransformer model = AnalysisFixtures.model(name, manager); CachedRun run = model.runWithCache(tokens)) {
            LabelledStack lens = LogitLens.logits(run.cache(), cachedScale(meta));
            assertClose("logit_lens.raw", lens.stack(), expected.get("logit_lens.raw"), ATOL);
            assertThat(lens.labels()).isEqualTo(meta.list("labels.accumulated_resid"));
        }
        try (HookedTransformer model = AnalysisFixtures.processed(name, manager); CachedRun run = model.runWithCache(tokens)) {
            assertClose("logit_lens.processed", LogitLens.logits(run.cache(), cachedScale(meta)).stack(),
                    expected.get("logit_lens.processed"), ATOL);
            // Where LayerNorm is folded, recomputing the final norm gives the same last row.
            if (!model.config().positionalEmbeddingType().name().equals("SHORTFORMER")) {
                LabelledStack recomputed = LogitLens.logits(run.cache(), cachedScale(meta)
                        .normalization(Normalization.RECOMPUTE));
                assertClose("recomputed final_post", recomputed.get("final_post"),
                        expected.get("logit_lens.processed").get(-1), ATOL);
            }
        }
    }

    /** RECOMPUTE: each row is unembed(ln_final(resid)); the last is the model's output. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "solu_ln_1l"})
    void recomputedLensIsTheModelReadingEachResidual(String name) {
        Map<String, NDArray> outputs = AnalysisFixtures.tensors(name, "outputs.safetensors", manager);
        Map<String, NDArray> weights = AnalysisFixtures.tensors(name, "model/weights.safetensors", manager);
        NDArray tokens = AnalysisFixtures.tokens(name, manager);
        try (HookedTransformer model = AnalysisFixtures.model(name, manager); CachedRun run = model.runWithCache(tokens)) {
            for (int position : new int[] {-1, 5}) {
                LabelledStack lens = LogitLens.logits(run.cache(), Options.defaults().position(position));
                int p = position < 0 ? 16 + position : position;
                assertClose("final_post = model logits", lens.get("final_post"),
                        outputs.get("logits").get(":, " + p), ATOL);
                // An independent float64 logit lens of resid_mid of block 0, from TransformerLens's own cache.
                double[] expected = lensOf(outputs.get("cache.blocks.0.hook_resid_mid").get(":, " + p), weights,
                        model.config().eps());
                assertClose("0_mid", lens.get("0_mid"), manager.create(expected, lens.get("0_mid").getShape())
                        .toType(DataType.FLOAT32, false), ATOL);
            }
        }
    }

    /** {@code (LN(resid) * w + b) @ W_U + b_U} in float64, for {@code resid [batch, d_model]}. */
    private static double[] lensOf(NDArray resid, Map<String, NDArray> w, double eps) {
        double[] x = resid.toType(DataType.FLOAT64, false).toDoubleArray();
        double[] lnW = w.get("ln_final.w").toType(DataType.FLOAT64, false).toDoubleArray();
        double[] lnB = w.get("ln_final.b").toType(DataType.FLOAT64, false).toDoubleArray();
        double[] wU = w.get("unembed.W_U").toType(DataType.FLOAT64, false).toDoubleArray();
        double[] bU = w.get("unembed.b_U").toType(DataType.FLOAT64, false).toDoubleArray();
        int d = lnW.length;
        int v = bU.length;
        int batch = x.length / d;
        double[] out = new double[batch * v];
        for (int b = 0; b < batch; b++) {
            double mean = 0;
            for (int i = 0; i < d; i++) {
                mean += x[b * d + i] / d;
            }
            double var = 0;
            for (int i = 0; i < d; i++) {
                var += Math.pow(x[b * d + i] - mean, 2) / d;
            }
            for (int t = 0; t < v; t++) {
                double logit = bU[t];
                for (int i = 0; i < d; i++) {
                    logit += ((x[b * d + i] - mean) / Math.sqrt(var + eps) * lnW[i] + lnB[i]) * wU[i * v + t];
                }
                out[b * v + t] = logit;
            }
        }
        return out;
    }

    /** Top-k, probabilities and target ranks, recomputed here from TransformerLens's lens logits. */
    @Test
    void reportReadsTopTokensAndTargetRanks() {
        String name = "gpt2_style_2l";
        Map<String, NDArray> expected = AnalysisFixtures.tensors(name, "analysis.safetensors", manager);
        FixtureMetadata meta = FixtureMetadata.read(name, "analysis.safetensors");
        long[] targets = {7, 13, 42};
        try (HookedTransformer model = AnalysisFixtures.model(name, manager);
                CachedRun run = model.runWithCache(AnalysisFixtures.tokens(name, manager))) {
            LogitLensResult result = LogitLens.run(run.cache(), cachedScale(meta).topK(3).targets(targets));
            double[] tl = expected.get("logit_lens.raw").toType(DataType.FLOAT64, false).toDoubleArray();   // [5, 3, 100]
            assertThat(result.layers()).isEqualTo(meta.list("labels.accumulated_resid"));
            for (int l = 0; l < 5; l++) {
                for (int b = 0; b < 3; b++) {
                    double[] row = Arrays.copyOfRange(tl, (l * 3 + b) * 100, (l * 3 + b + 1) * 100);
                    double z = Arrays.stream(row).map(Math::exp).sum();
                    Integer[] order = IntStream.range(0, 100).boxed().toArray(Integer[]::new);
                    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -row[i]));
                    LensPrediction p = result.get(l, b);
                    assertThat(p.topTokens()).containsExactly(order[0], order[1], order[2]);
                    assertThat(p.topProbs()[0]).isCloseTo(Math.exp(row[order[0]]) / z, within(1e-6));
                    int rank = Arrays.asList(order).indexOf((int) targets[b]);
                    assertThat(p.targetRank()).as("rank at layer %d batch %d", l, b).isEqualTo(rank);
                    assertThat(p.targetProb()).isCloseTo(Math.exp(row[(int) targets[b]]) / z, within(1e-6));
                    assertThat(p.targetLogit()).isCloseTo(row[(int) targets[b]], within(ATOL));
                }
            }
            assertThat(result.targetRanks(2)[4]).isEqualTo(result.get("final_post", 2).targetRank());
            assertThat(result.targetProbs(0)).hasSize(5);
        }
    }

    @Test
    void badInputsNameTheCulprit() {
        try (HookedTransformer model = AnalysisFixtures.model("gpt2_style_2l", manager)) {
            NDArray tokens = AnalysisFixtures.tokens("gpt2_style_2l", manager);
            try (CachedRun run = model.runWithCache(tokens)) {
                assertThatThrownBy(() -> LogitLens.run(run.cache(), Options.defaults().targets(1, 2)))
                        .hasMessageContaining("2 targets for a batch of 3");
                assertThatThrownBy(() -> LogitLens.run(run.cache(), Options.defaults().targets(100)))
                        .hasMessageContaining("target token 100 is out of range [0, 100)");
                assertThatThrownBy(() -> Options.defaults().topK(-1)).hasMessageContaining("topK");
                LogitLensResult noTarget = LogitLens.run(run.cache(), Options.defaults());
                assertThatThrownBy(() -> noTarget.targetRanks(0)).hasMessageContaining("without a target");
                assertThatThrownBy(() -> noTarget.get("2_pre", 0)).hasMessageContaining("no layer '2_pre'");
            }
            try (CachedRun single = model.runWithCache(tokens.get("0:1"), CacheOptions.all().withRemoveBatchDim())) {
                assertThatThrownBy(() -> LogitLens.run(single.cache(), Options.defaults()))
                        .hasMessageContaining("batch dimension");
            }
        }
    }
}
