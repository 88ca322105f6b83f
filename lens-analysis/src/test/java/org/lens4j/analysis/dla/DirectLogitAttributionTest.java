package org.lens4j.analysis.dla;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.analysis.AnalysisFixtures;
import org.lens4j.analysis.dla.Attribution.Unit;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.Slice;
import org.lens4j.core.StackOptions;
import org.lens4j.core.testing.FixtureMetadata;

/** Direct logit attribution against TransformerLens 2.12 and the identities it must satisfy. */
class DirectLogitAttributionTest {

    private static final double ATOL = 1e-5;
    private static final AnswerTokens SEVEN_VS_13 = AnswerTokens.difference(7, 13);

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private NDArray asArray(Attribution a) {
        double[][] rows = new double[a.size()][a.batchSize()];
        for (int c = 0; c < a.size(); c++) {
            for (int b = 0; b < a.batchSize(); b++) {
                rows[c][b] = a.value(c, b);
            }
        }
        return manager.create(rows);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void headsAndComponentsMatchTransformerLens(String name) {
        Map<String, NDArray> expected = AnalysisFixtures.tensors(name, "analysis.safetensors", manager);
        FixtureMetadata meta = FixtureMetadata.read(name, "analysis.safetensors");
        long[] answers = expected.get("logit_attrs.answer_tokens").toLongArray();
        AnswerTokens pair = AnswerTokens.difference(answers[0], answers[1]);
        try (HookedTransformer model = AnalysisFixtures.model(name, manager);
                CachedRun run = model.runWithCache(AnalysisFixtures.tokens(name, manager))) {
            assertClose("logit_attrs.logit_diff_direction", pair.residualDirections(model, 1, manager).get(0),
                    expected.get("logit_attrs.logit_diff_direction"), ATOL);
            Attribution heads = DirectLogitAttribution.compute(run.cache(), pair, Unit.HEAD);
            int nHeads = model.config().nLayers() * model.config().nHeads();
            assertThat(heads.labels()).isEqualTo(concat(meta.list("labels.stack_head_results"), "remainder"));
            assertClose("HEAD", asArray(heads).get(new NDIndex("0:" + nHeads)),
                    expected.get("logit_attrs.stack_head_results").toType(ai.djl.ndarray.types.DataType.FLOAT64, false),
                    ATOL);
            Attribution components = DirectLogitAttribution.compute(run.cache(), pair, Unit.COMPONENT);
            assertThat(components.labels()).isEqualTo(meta.list("labels.decompose_resid"));
            assertClose("COMPONENT", asArray(components),
                    expected.get("logit_attrs.decompose_resid").toType(ai.djl.ndarray.types.DataType.FLOAT64, false), ATOL);
            double[][] grid = heads.grid();
            assertThat(grid).hasNumberOfRows(model.config().nLayers());
            assertThat(grid[1 % grid.length][2]).isEqualTo(heads.mean("L" + (1 % grid.length) + "H2"));
        }
    }

    private static List<String> concat(List<String> labels, String last) {
        java.util.ArrayList<String> out = new java.util.ArrayList<>(labels);
        out.add(last);
        return out;
    }

    /** The fused neuron path equals TransformerLens's logit_attrs of the full neuron stack. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "solu_ln_1l"})
    void neuronAttributionsEqualLogitAttrsOfTheNeuronStack(String name) {
        try (HookedTransformer model = AnalysisFixtures.model(name, manager);
                CachedRun run = model.runWithCache(AnalysisFixtures.tokens(name, manager))) {
            for (int position : new int[] {-1, 4}) {
                AnswerTokens answers = AnswerTokens.difference(new long[] {7, 8, 9}, new long[] {13, 3, 1}).at(position);
                Attribution neurons = DirectLogitAttribution.compute(run.cache(), answers, Unit.NEURON);
                StackOptions at = StackOptions.defaults().posSlice(Slice.index(position));
                NDArray stack = run.cache().stackNeuronResults(at).stack();
                NDArray expected = run.cache().logitAttrs(stack, manager.create(new long[] {7, 8, 9}),
                        manager.create(new long[] {13, 3, 1}), at);
                assertClose("NEURON at " + position, asArray(neurons),
                        expected.toType(ai.djl.ndarray.types.DataType.FLOAT64, false), ATOL);
                assertThat(neurons.labels().get(neurons.size() - 1))
                        .isEqualTo("L" + (model.config().nLayers() - 1) + "N" + (model.config().dMlp() - 1));
            }
        }
    }

    /**
     * With folded LayerNorm weights the attributions of a complete decomposition are exact: they add up to
     * the logit difference minus the b_U difference, for every unit that covers the whole residual stream.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "solu_ln_1l"})
    void completeDecompositionsAddUpToTheLogitDifference(String name) {
        try (HookedTransformer model = AnalysisFixtures.processed(name, manager);
                CachedRun run = model.runWithCache(AnalysisFixtures.tokens(name, manager))) {
            AnswerTokens answers = AnswerTokens.difference(new long[] {7, 8, 9}, new long[] {13, 3, 1});
            double[] logitDiff = answers.logitDifference(run.logits());
            double[] bU = model.b_U().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).toDoubleArray();
            double[] explained = {logitDiff[0] - (bU[7] - bU[13]), logitDiff[1] - (bU[8] - bU[3]),
                logitDiff[2] - (bU[9] - bU[1])};
            for (Unit unit : new Unit[] {Unit.COMPONENT, Unit.HEAD}) {
                assertThat(DirectLogitAttribution.compute(run.cache(), answers, unit).total()).as(unit.toString())
                        .containsExactly(explained, within(ATOL));
            }
            // The last accumulated residual is the whole stream.
            Attribution layers = DirectLogitAttribution.compute(run.cache(), answers, Unit.LAYER);
            for (int b = 0; b < 3; b++) {
                assertThat(layers.value("final_post", b)).isCloseTo(explained[b], within(ATOL));
            }
            // Heads + neurons + embeddings + biases: the neuron attributions complete the head attributions.
            Attribution heads = DirectLogitAttribution.compute(run.cache(), answers, Unit.HEAD);
            Attribution neurons = DirectLogitAttribution.compute(run.cache(), answers, Unit.NEURON);
            Attribution components = DirectLogitAttribution.compute(run.cache(), answers, Unit.COMPONENT);
            int layersN = model.config().nLayers();
            for (int b = 0; b < 3; b++) {
                double mlpOuts = 0;
                for (int l = 0; l < layersN; l++) {
                    mlpOuts += components.value(l + "_mlp_out", b);
                }
                double neuronSum = neurons.total()[b];
                double bOut = 0;
                for (int l = 0; l < layersN; l++) {
                    bOut += attributeBias(run, model, "blocks." + l + ".mlp.b_out", answers, b);
                }
                assertThat(neuronSum + bOut).as("neurons + b_out = mlp_out, batch " + b).isCloseTo(mlpOuts, within(ATOL));
            }
            assertThat(heads.total()).containsExactly(explained, within(ATOL));
        }
    }

    /** The attribution of a constant bias vector, through the same cached final scale. */
    private double attributeBias(CachedRun run, HookedTransformer model, String bias, AnswerTokens answers, int b) {
        NDArray stack = model.parameter(bias).broadcast(new ai.djl.ndarray.types.Shape(1, 3, model.config().dModel()));
        StackOptions last = StackOptions.defaults().posSlice(Slice.index(-1));
        NDArray attrs = run.cache().logitAttrs(stack, manager.create(answers.correct()),
                manager.create(answers.incorrect()), last);
        return attrs.getFloat(0, b);
    }

    @Test
    void perElementAnswersEqualSingleElementRuns() {
        try (HookedTransformer model = AnalysisFixtures.model("gpt2_style_2l", manager);
                CachedRun run = model.runWithCache(AnalysisFixtures.tokens("gpt2_style_2l", manager))) {
            AnswerTokens mixed = AnswerTokens.difference(new long[] {7, 8, 9}, new long[] {13, 3, 1});
            Attribution all = DirectLogitAttribution.compute(run.cache(), mixed, Unit.COMPONENT);
            Attribution second = DirectLogitAttribution.compute(run.cache(), AnswerTokens.difference(8, 3),
                    Unit.COMPONENT);
            for (int c = 0; c < all.size(); c++) {
                assertThat(all.value(c, 1)).isCloseTo(second.value(c, 1), within(1e-9));
            }
            Attribution plain = DirectLogitAttribution.compute(run.cache(), AnswerTokens.of(8), Unit.COMPONENT);
            Attribution minus = DirectLogitAttribution.compute(run.cache(), AnswerTokens.of(3), Unit.COMPONENT);
            for (int c = 0; c < all.size(); c++) {
                assertThat(plain.value(c, 1) - minus.value(c, 1)).isCloseTo(second.value(c, 1), within(ATOL));
            }
            assertThat(all.top(2)).hasSize(2);
            assertThat(all.top(1).get(0).value()).isGreaterThanOrEqualTo(all.bottom(1).get(0).value());
        }
    }

    @Test
    void worksOnACacheWithoutBatchDimension() {
        try (HookedTransformer model = AnalysisFixtures.model("gpt2_style_2l", manager)) {
            NDArray tokens = AnalysisFixtures.tokens("gpt2_style_2l", manager);
            Attribution batched = DirectLogitAttribution.compute(model, tokens, SEVEN_VS_13, Unit.NEURON);
            try (CachedRun single = model.runWithCache(tokens.get("0:1"), CacheOptions.all().withRemoveBatchDim())) {
                for (Unit unit : Unit.values()) {
                    Attribution one = DirectLogitAttribution.compute(single.cache(), SEVEN_VS_13, unit);
                    Attribution all = DirectLogitAttribution.compute(model, tokens, SEVEN_VS_13, unit);
                    assertThat(one.batchSize()).isEqualTo(1);
                    for (int c = 0; c < one.size(); c++) {
                        assertThat(one.value(c, 0)).as(unit + " " + one.labels().get(c))
                                .isCloseTo(all.value(c, 0), within(ATOL));
                    }
                }
            }
            assertThat(batched.grid()[1]).hasSize(model.config().dMlp());
        }
    }

    @Test
    void badAnswersNameTheCulprit() {
        assertThatThrownBy(() -> AnswerTokens.difference(new long[] {1, 2}, new long[] {3}))
                .hasMessageContaining("2 correct tokens but 1 incorrect");
        try (HookedTransformer model = AnalysisFixtures.model("attn_only_2l_shortformer", manager);
                CachedRun run = model.runWithCache(AnalysisFixtures.tokens("attn_only_2l_shortformer", manager))) {
            assertThatThrownBy(() -> DirectLogitAttribution.compute(run.cache(), AnswerTokens.of(1, 2), Unit.HEAD))
                    .hasMessageContaining("AnswerTokens has 2 tokens but the batch has 3 elements");
            assertThatThrownBy(() -> DirectLogitAttribution.compute(run.cache(), AnswerTokens.of(100), Unit.HEAD))
                    .hasMessageContaining("token id out of range [0, 100): 100");
            assertThatThrownBy(() -> DirectLogitAttribution.compute(run.cache(), SEVEN_VS_13, Unit.NEURON))
                    .hasMessageContaining("attention-only");
            Attribution components = DirectLogitAttribution.compute(run.cache(), SEVEN_VS_13, Unit.COMPONENT);
            assertThatThrownBy(components::grid).hasMessageContaining("needs unit HEAD or NEURON");
            assertThatThrownBy(() -> components.mean("L0H0")).hasMessageContaining("no component 'L0H0'");
            assertThatThrownBy(() -> SEVEN_VS_13.at(16).logitDifference(run.logits()))
                    .hasMessageContaining("answer position 16 is out of range for 16 positions");
            assertThatThrownBy(() -> DirectLogitAttribution.compute(run.cache(), SEVEN_VS_13.at(-17), Unit.HEAD))
                    .hasMessageContaining("index -17 is out of range for an axis of length 16");
            assertThatThrownBy(() -> AnswerTokens.of(100).logitDifference(run.logits()))
                    .hasMessageContaining("answer token 100 is out of range");
        }
    }
}
