package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.testing.Fixtures;

/**
 * What must hold whatever the weights: decompositions sum to the residual stream they decompose, head
 * results plus {@code b_O} are the attention output, logit attributions add up to the (LayerNorm-linearised)
 * logit difference; plus slicing, memory ownership and the errors for bad input.
 */
class ActivationCachePropertiesTest {

    private static final double ATOL = 1e-5;
    private static final StackOptions LAST = StackOptions.defaults().posSlice(Slice.index(-1));

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private HookedTransformer load(String name, String dir) {
        return HookedTransformer.fromStateDict(Fixtures.config(name, dir + "/config.json"),
                Fixtures.tensors(name, dir + "/weights.safetensors", manager));
    }

    private NDArray tokens(String name) {
        return Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
    }

    private static NDArray sum0(LabelledStack s) {
        return s.stack().sum(new int[] {0});
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void decompositionsSumToTheResidualStream(String name) {
        try (HookedTransformer model = load(name, "model"); CachedRun run = model.runWithCache(tokens(name))) {
            ActivationCache c = run.cache();
            int n = model.config().nLayers();
            // decompose_resid lists pos_embed even for shortformer models, where it is not in the residual stream.
            boolean shortformer = model.config().positionalEmbeddingType()
                    == HookedTransformerConfig.PositionalEmbeddingType.SHORTFORMER;
            NDArray notInResid = shortformer ? c.get("hook_pos_embed") : c.get("hook_embed").zerosLike();
            NDArray finalResid = c.get("resid_post", n - 1);
            assertClose("decomposeResid()", sum0(c.decomposeResid()).sub(notInResid), finalResid, ATOL);
            for (boolean expand : new boolean[] {true, false}) {
                assertClose("getFullResidDecomposition expandNeurons=" + expand,
                        sum0(c.getFullResidDecomposition(StackOptions.defaults().expandNeurons(expand))).sub(notInResid),
                        finalResid, ATOL);
            }
            for (int l = 0; l < n; l++) {
                StackOptions at = StackOptions.defaults().layer(l);
                assertClose("decomposeResid layer " + l, sum0(c.decomposeResid(at)).sub(notInResid),
                        c.get("resid_pre", l), ATOL);
                assertClose("getFullResidDecomposition layer " + l, sum0(c.getFullResidDecomposition(at)).sub(notInResid),
                        c.get("resid_pre", l), ATOL);
                if (!model.config().attnOnly()) {
                    assertClose("decomposeResid mlpInput " + l, sum0(c.decomposeResid(at.mlpInput(true))).sub(notInResid),
                            c.get("resid_mid", l), ATOL);
                    assertClose("getFullResidDecomposition mlpInput " + l,
                            sum0(c.getFullResidDecomposition(at.mlpInput(true))).sub(notInResid), c.get("resid_mid", l),
                            ATOL);
                }
            }
            assertClose("stackHeadResults + remainder", sum0(c.stackHeadResults(
                    StackOptions.defaults().inclRemainder(true))), finalResid, ATOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void headResultsPlusBiasAreTheAttentionOutput(String name) {
        Map<String, NDArray> outputs = Fixtures.tensors(name, "outputs.safetensors", manager);
        try (HookedTransformer model = load(name, "model"); CachedRun run = model.runWithCache(tokens(name))) {
            ActivationCache c = run.cache();
            int n = model.config().nLayers();
            int h = model.config().nHeads();
            NDArray heads = c.stackHeadResults().stack();   // [n * h, batch, pos, d_model]
            for (int l = 0; l < n; l++) {
                NDArray layerSum = heads.get(new NDIndex(l * h + ":" + (l + 1) * h)).sum(new int[] {0});
                assertClose("heads of layer " + l + " + b_O", layerSum.add(model.parameter("blocks." + l + ".attn.b_O")),
                        c.get("attn_out", l), ATOL);
                // computeHeadResults equals the hook_result TransformerLens records with use_attn_result.
                String hook = "blocks." + l + ".attn.hook_result";
                assertClose(hook, c.get(hook), outputs.get("cache_use_attn_result." + hook), ATOL);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "solu_ln_1l"})
    void neuronResultsPlusBiasAreTheMlpOutput(String name) {
        try (HookedTransformer model = load(name, "model"); CachedRun run = model.runWithCache(tokens(name))) {
            ActivationCache c = run.cache();
            int n = model.config().nLayers();
            int m = model.config().dMlp();
            NDArray neurons = c.stackNeuronResults(LAST).stack();
            for (int l = 0; l < n; l++) {
                NDArray layerSum = neurons.get(new NDIndex(l * m + ":" + (l + 1) * m)).sum(new int[] {0});
                assertClose("neurons of layer " + l + " + b_out",
                        layerSum.add(model.parameter("blocks." + l + ".mlp.b_out")),
                        Slice.index(-1).apply(c.get("mlp_out", l), -2), ATOL);
            }
            assertClose("stackNeuronResults + remainder", sum0(c.stackNeuronResults(LAST.inclRemainder(true))),
                    Slice.index(-1).apply(c.get("resid_post", n - 1), -2), ATOL);
            // A neuron slice picks the same rows as the full stack.
            NDArray picked = c.getNeuronResults(n - 1, Slice.indices(3, 5), Slice.index(-1));   // [batch, 2, d_model]
            assertClose("getNeuronResults", picked.get(":, 1"), neurons.get((n - 1) * m + 5), ATOL);
            LabelledStack two = c.stackNeuronResults(LAST.neuronSlice(Slice.indices(3, 5)));
            assertThat(two.labels()).startsWith("L0N3", "L0N5");
        }
    }

    /**
     * On a model with folded LayerNorm weights, the attributions of a complete decomposition add up to the
     * logit difference minus the unembedding bias difference (exact: the final LayerNorm is linear given its
     * cached scale).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "solu_ln_1l"})
    void logitAttrsOfAFoldedModelSumToTheLogitDifference(String name) {
        HookedTransformerConfig raw = Fixtures.config(name, "model/config.json");
        WeightProcessing.Result processed = WeightProcessing.process(raw,
                Fixtures.tensors(name, "model/weights.safetensors", manager), ProcessingOptions.DEFAULT);
        int a = 7;
        int b = 13;
        try (HookedTransformer model = HookedTransformer.fromStateDict(processed.config(), processed.stateDict());
                CachedRun run = model.runWithCache(tokens(name))) {
            ActivationCache c = run.cache();
            NDArray lastLogits = run.logits().get(":, -1");
            NDArray logitDiff = lastLogits.get(":, " + a).sub(lastLogits.get(":, " + b));
            NDArray biasDiff = model.b_U().get(a).sub(model.b_U().get(b));
            for (LabelledStack stack : new LabelledStack[] {c.getFullResidDecomposition(LAST),
                    c.getFullResidDecomposition(LAST.expandNeurons(false))}) {
                NDArray attrs = c.logitAttrs(stack.stack(), a, b, LAST);   // [component, batch]
                assertClose("sum of attributions", attrs.sum(new int[] {0}), logitDiff.sub(biasDiff), 1e-5);
            }
        }
    }

    /**
     * On an unprocessed LN model the attributions sum to the logit difference of the centred, scaled residual
     * (LayerNorm without its weight and bias): TransformerLens's documented approximation, checked against an
     * independent float64 computation from the cached residual and scale.
     */
    @Test
    void logitAttrsOfAnUnfoldedModelSumToTheLinearisedLogitDifference() {
        try (HookedTransformer model = load("gpt2_style_2l", "model");
                CachedRun run = model.runWithCache(tokens("gpt2_style_2l"))) {
            ActivationCache c = run.cache();
            NDArray attrs = c.logitAttrs(c.decomposeResid(LAST).stack(), 7, 13, LAST);
            double[] resid = c.get("resid_post", -1).get(":, -1").toType(DataType.FLOAT64, false).toDoubleArray();
            double[] scale = c.get("ln_final.hook_scale").get(":, -1, 0").toType(DataType.FLOAT64, false)
                    .toDoubleArray();
            double[] wU = model.W_U().toType(DataType.FLOAT64, false).toDoubleArray();
            int d = model.config().dModel();
            int v = model.config().dVocabOut();
            double[] sums = attrs.sum(new int[] {0}).toType(DataType.FLOAT64, false).toDoubleArray();
            for (int batch = 0; batch < scale.length; batch++) {
                double mean = 0;
                for (int i = 0; i < d; i++) {
                    mean += resid[batch * d + i] / d;
                }
                double expected = 0;
                for (int i = 0; i < d; i++) {
                    expected += (resid[batch * d + i] - mean) / scale[batch] * (wU[i * v + 7] - wU[i * v + 13]);
                }
                assertThat(sums[batch]).as("batch " + batch).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5));
            }
        }
    }

    /** recomputeLn is the classic logit lens: ln_final (weight and bias) with each entry's own statistics. */
    @Test
    void recomputedFinalNormIsTheModelsOwnFinalLayerNorm() {
        try (HookedTransformer model = load("gpt2_style_2l", "model");
                CachedRun run = model.runWithCache(tokens("gpt2_style_2l"))) {
            ActivationCache c = run.cache();
            LabelledStack lens = c.accumulatedResid(LAST.inclMid(true).applyLn(true).recomputeLn(true));
            // TransformerLens 2.x fires ln_final.hook_normalized after the weight and bias.
            assertClose("final_post", lens.get("final_post"), c.get("ln_final.hook_normalized").get(":, -1"), ATOL);
            double[] w = model.parameter("ln_final.w").toType(DataType.FLOAT64, false).toDoubleArray();
            double[] bias = model.parameter("ln_final.b").toType(DataType.FLOAT64, false).toDoubleArray();
            double eps = model.config().eps();
            double[] mid = c.get("resid_mid", 0).get(":, -1").toType(DataType.FLOAT64, false).toDoubleArray();
            double[] got = lens.get("0_mid").toType(DataType.FLOAT64, false).toDoubleArray();
            int d = w.length;
            for (int batch = 0; batch < mid.length / d; batch++) {
                double mean = 0;
                for (int i = 0; i < d; i++) {
                    mean += mid[batch * d + i] / d;
                }
                double var = 0;
                for (int i = 0; i < d; i++) {
                    var += Math.pow(mid[batch * d + i] - mean, 2) / d;
                }
                for (int i = 0; i < d; i++) {
                    double expected = (mid[batch * d + i] - mean) / Math.sqrt(var + eps) * w[i] + bias[i];
                    assertThat(got[batch * d + i]).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void slicesOfBatchAndPositionAgreeWithSlicingTheResult() {
        try (HookedTransformer model = load("gpt2_style_2l", "model");
                CachedRun run = model.runWithCache(tokens("gpt2_style_2l"))) {
            ActivationCache c = run.cache();
            NDArray all = c.decomposeResid(StackOptions.defaults().applyLn(true)).stack();   // [C, b, pos, D]
            NDArray range = c.decomposeResid(StackOptions.defaults().applyLn(true).posSlice(Slice.range(2L, 5L)))
                    .stack();
            assertClose("posSlice 2:5", range, all.get(":, :, 2:5"), ATOL);
            NDArray picked = c.accumulatedResid(StackOptions.defaults().applyLn(true).posSlice(Slice.indices(0, -1)))
                    .stack();
            NDArray full = c.accumulatedResid(StackOptions.defaults().applyLn(true)).stack();
            assertClose("posSlice [0, -1]", picked.get(":, :, 1"), full.get(":, :, -1"), ATOL);
            NDArray raw = c.decomposeResid(LAST).stack();
            NDArray batch1 = c.applyLnToStack(raw, LAST.batchSlice(Slice.index(1)));   // [C, D]
            assertClose("batchSlice 1", batch1, c.applyLnToStack(raw, LAST).get(":, 1"), ATOL);
            assertClose("stackActivation", c.stackActivation("pattern", -1, null).get(1), c.get("pattern", 1), 0);
            assertThat(c.stackActivation("scale", null, "ln2").getShape().get(0)).isEqualTo(2);
        }
    }

    @Test
    void worksOnACacheWithoutBatchDimension() {
        try (HookedTransformer model = load("gpt2_style_2l", "model")) {
            NDArray tokens = tokens("gpt2_style_2l");
            try (CachedRun batched = model.runWithCache(tokens);
                    CachedRun single = model.runWithCache(tokens.get("0:1"), CacheOptions.all().withRemoveBatchDim())) {
                StackOptions o = LAST.applyLn(true);
                assertClose("decomposeResid without batch dim", single.cache().decomposeResid(o).stack(),
                        batched.cache().decomposeResid(o).stack().get(":, 0"), ATOL);
                assertClose("getFullResidDecomposition without batch dim",
                        single.cache().getFullResidDecomposition(o).stack(),
                        batched.cache().getFullResidDecomposition(o).stack().get(":, 0"), ATOL);
                assertClose("logitAttrs without batch dim",
                        single.cache().logitAttrs(single.cache().stackHeadResults(LAST).stack(), 7, 13, LAST),
                        batched.cache().logitAttrs(batched.cache().stackHeadResults(LAST).stack(), 7, 13, LAST).get(":, 0"),
                        ATOL);
            }
        }
    }

    @Test
    void resultsBelongToTheCacheAndTemporariesAreFreed() {
        try (HookedTransformer model = load("gpt2_style_2l", "model");
                CachedRun run = model.runWithCache(tokens("gpt2_style_2l"))) {
            ActivationCache c = run.cache();
            c.computeHeadResults();
            int cacheArrays = c.manager().getManagedArrays().size();
            int modelArrays = model.manager().getManagedArrays().size();
            int callerArrays = manager.getManagedArrays().size();
            for (int i = 0; i < 3; i++) {
                try (LabelledStack a = c.accumulatedResid(LAST.inclMid(true).applyLn(true).recomputeLn(true));
                        LabelledStack d = c.decomposeResid(LAST.applyLn(true));
                        LabelledStack h = c.stackHeadResults(LAST.inclRemainder(true).applyLn(true));
                        LabelledStack nr = c.stackNeuronResults(LAST.inclRemainder(true).applyLn(true));
                        LabelledStack f = c.getFullResidDecomposition(LAST.applyLn(true));
                        NDArray attrs = c.logitAttrs(d.stack(), 7, 13, LAST);
                        NDArray scaled = c.applyLnToStack(d.stack(), LAST)) {
                    for (LabelledStack s : new LabelledStack[] {a, d, h, nr, f}) {
                        assertThat(s.stack().getManager()).isSameAs(c.manager());
                    }
                    assertThat(attrs.getManager()).isSameAs(c.manager());
                    assertThat(scaled.getManager()).isSameAs(c.manager());
                }
            }
            assertThat(c.manager().getManagedArrays()).as("cache arrays").hasSize(cacheArrays);
            assertThat(model.manager().getManagedArrays()).as("model arrays").hasSize(modelArrays);
            assertThat(manager.getManagedArrays()).as("caller arrays").hasSize(callerArrays);
        }
    }

    @Test
    void badOptionsAndInputsNameTheCulprit() {
        try (HookedTransformer model = load("gpt2_style_2l", "model");
                CachedRun run = model.runWithCache(tokens("gpt2_style_2l"))) {
            ActivationCache c = run.cache();
            assertThatThrownBy(() -> c.accumulatedResid(StackOptions.defaults().layer(3)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer 3 is out of range [0, 2]");
            assertThatThrownBy(() -> c.decomposeResid(StackOptions.defaults().inclMid(true)))
                    .hasMessageContaining("decomposeResid does not take the option inclMid");
            assertThatThrownBy(() -> c.decomposeResid(StackOptions.defaults().mlpInput(true)))
                    .hasMessageContaining("mlpInput needs a layer below n_layers");
            assertThatThrownBy(() -> c.stackHeadResults(StackOptions.defaults().layer(0).inclRemainder(true)))
                    .hasMessageContaining("inclRemainder needs layer >= 1");
            NDArray stack = c.decomposeResid(LAST).stack();
            NDArray three = manager.create(new long[] {7, 7, 7});
            assertThatThrownBy(() -> c.logitAttrs(stack, three, manager.create(new long[] {13, 13}), LAST))
                    .hasMessageContaining("tokens (3) and incorrectTokens (2) must have the same shape");
            NDArray four = manager.create(new long[] {7, 7, 7, 7});
            assertThatThrownBy(() -> c.logitAttrs(stack, four, null, LAST))
                    .hasMessageContaining("do not broadcast against the stack's components (3, 64)");
            assertThatThrownBy(() -> c.logitAttrs(stack, 100, 13, LAST)).hasMessageContaining("token id out of range");
            NDArray allPositions = c.decomposeResid().stack();
            assertThatThrownBy(() -> c.applyLnToStack(allPositions, LAST))
                    .hasMessageContaining("do not match the cached ln_final.hook_scale");
        }
        try (HookedTransformer attnOnly = load("attn_only_2l_shortformer", "model");
                CachedRun run = attnOnly.runWithCache(tokens("attn_only_2l_shortformer"))) {
            assertThatThrownBy(() -> run.cache().accumulatedResid(StackOptions.defaults().inclMid(true)))
                    .hasMessageContaining("attention-only");
            assertThatThrownBy(() -> run.cache().stackNeuronResults(LAST)).hasMessageContaining("attention-only");
        }
        try (HookedTransformer model = load("gpt2_style_2l", "model");
                CachedRun partial = model.runWithCache(tokens("gpt2_style_2l"), "hook_embed", "hook_pos_embed")) {
            assertThatThrownBy(() -> partial.cache().decomposeResid())
                    .hasMessageContaining("blocks.0.hook_attn_out");
        }
    }
}
