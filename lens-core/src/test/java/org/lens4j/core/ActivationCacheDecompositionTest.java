package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.testing.FixtureMetadata;
import org.lens4j.core.testing.Fixtures;

/**
 * The ActivationCache decompositions against TransformerLens 2.12's {@code analysis.safetensors}: values at
 * 1e-5 and labels exactly, for each fixture model.
 */
class ActivationCacheDecompositionTest {

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

    /** A fixture model, its input tokens and the cache of a run on them. */
    private final class Run implements AutoCloseable {
        final HookedTransformer model;
        final NDArray tokens;
        final CachedRun run;
        final ActivationCache cache;
        final Map<String, NDArray> expected;
        final FixtureMetadata meta;

        Run(String name) {
            model = HookedTransformer.fromStateDict(Fixtures.config(name, "model/config.json"),
                    Fixtures.tensors(name, "model/weights.safetensors", manager));
            tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
            run = model.runWithCache(tokens);
            cache = run.cache();
            cache.computeHeadResults();
            expected = Fixtures.tensors(name, "analysis.safetensors", manager);
            meta = FixtureMetadata.read(name, "analysis.safetensors");
        }

        @Override
        public void close() {
            run.close();
            model.close();
        }
    }

    private static void assertStack(String key, LabelledStack actual, Run r, String labelsKey) {
        assertClose(key, actual.stack(), r.expected.get(key), ATOL);
        assertThat(actual.labels()).as(labelsKey).isEqualTo(r.meta.list(labelsKey));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void accumulatedResidMatchesTransformerLens(String name) {
        try (Run r = new Run(name)) {
            boolean inclMid = Boolean.parseBoolean(r.meta.get("accumulated_resid.incl_mid").toLowerCase());
            StackOptions o = LAST.inclMid(inclMid);
            assertStack("accumulated_resid.raw", r.cache.accumulatedResid(o), r, "labels.accumulated_resid");
            assertStack("accumulated_resid.ln", r.cache.accumulatedResid(o.applyLn(true)), r,
                    "labels.accumulated_resid");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void decomposeResidAndHeadResultsMatchTransformerLens(String name) {
        try (Run r = new Run(name)) {
            assertStack("decompose_resid.raw", r.cache.decomposeResid(LAST), r, "labels.decompose_resid");
            assertStack("decompose_resid.ln", r.cache.decomposeResid(LAST.applyLn(true)), r, "labels.decompose_resid");
            assertStack("stack_head_results.raw", r.cache.stackHeadResults(LAST.layer(-1)), r,
                    "labels.stack_head_results");
            assertStack("stack_head_results.ln", r.cache.stackHeadResults(LAST.applyLn(true)), r,
                    "labels.stack_head_results");
            assertThat(r.cache.stackHeadResults(LAST).labels()).isEqualTo(r.model.allHeadLabels());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void fullResidDecompositionMatchesTransformerLens(String name) {
        try (Run r = new Run(name)) {
            StackOptions o = StackOptions.defaults().expandNeurons(false);
            assertStack("full_resid_decomposition.raw", r.cache.getFullResidDecomposition(o), r,
                    "labels.full_resid_decomposition");
            assertStack("full_resid_decomposition.ln", r.cache.getFullResidDecomposition(o.applyLn(true)), r,
                    "labels.full_resid_decomposition");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "solu_ln_1l"})
    void stackNeuronResultsMatchesTransformerLens(String name) {
        try (Run r = new Run(name)) {
            int n = r.model.config().nLayers();
            int dMlp = r.model.config().dMlp();
            LabelledStack neurons = r.cache.stackNeuronResults(LAST.layer(n));
            assertClose("stack_neuron_results.raw", neurons.stack(), r.expected.get("stack_neuron_results.raw"), ATOL);
            // The fixture abbreviates the label list to [first, "...", last].
            List<String> abbreviated = r.meta.list("labels.stack_neuron_results");
            assertThat(neurons.labels()).hasSize(n * dMlp);
            assertThat(neurons.labels().get(0)).isEqualTo(abbreviated.get(0));
            assertThat(neurons.labels().get(n * dMlp - 1)).isEqualTo(abbreviated.get(2));
            assertThat(neurons.labels().get(dMlp - 1)).isEqualTo("L0N" + (dMlp - 1));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void logitAttrsMatchTransformerLens(String name) {
        try (Run r = new Run(name)) {
            long[] answers = r.expected.get("logit_attrs.answer_tokens").toLongArray();
            NDArray direction = r.model.tokensToResidualDirections(manager.create(answers[0]))
                    .sub(r.model.tokensToResidualDirections(manager.create(answers[1])));
            assertClose("logit_attrs.logit_diff_direction", direction, r.expected.get("logit_attrs.logit_diff_direction"),
                    ATOL);
            long batch = r.tokens.getShape().get(0);
            NDArray correct = manager.full(new Shape(batch), (int) answers[0]).toType(DataType.INT64, false);
            NDArray wrong = manager.full(new Shape(batch), (int) answers[1]).toType(DataType.INT64, false);
            NDArray heads = r.cache.stackHeadResults(LAST).stack();
            assertClose("logit_attrs.stack_head_results", r.cache.logitAttrs(heads, correct, wrong, LAST),
                    r.expected.get("logit_attrs.stack_head_results"), ATOL);
            NDArray components = r.cache.decomposeResid(LAST).stack();
            assertClose("logit_attrs.decompose_resid", r.cache.logitAttrs(components, correct, wrong, LAST),
                    r.expected.get("logit_attrs.decompose_resid"), ATOL);
            // A scalar answer pair broadcasts over the batch.
            assertClose("logit_attrs with int tokens",
                    r.cache.logitAttrs(components, (int) answers[0], (int) answers[1], LAST),
                    r.expected.get("logit_attrs.decompose_resid"), ATOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void applyLnToStackMatchesTransformerLens(String name) {
        try (Run r = new Run(name)) {
            int last = r.model.config().nLayers() - 1;
            NDArray all = r.cache.decomposeResid(LAST).stack();
            assertClose("apply_ln_to_stack.decompose_resid_final", r.cache.applyLnToStack(all, LAST),
                    r.expected.get("apply_ln_to_stack.decompose_resid_final"), ATOL);

            LabelledStack toLast = r.cache.decomposeResid(LAST.layer(last));
            assertClose("apply_ln_to_stack.decompose_resid_to_last_layer.stack", toLast.stack(),
                    r.expected.get("apply_ln_to_stack.decompose_resid_to_last_layer.stack"), ATOL);
            assertClose("apply_ln_to_stack.decompose_resid_to_last_layer.ln1",
                    r.cache.applyLnToStack(toLast.stack(), LAST.layer(last).mlpInput(false)),
                    r.expected.get("apply_ln_to_stack.decompose_resid_to_last_layer.ln1"), ATOL);
            if (!r.model.config().attnOnly()) {
                LabelledStack toMlp = r.cache.decomposeResid(LAST.layer(last).mlpInput(true));
                assertClose("apply_ln_to_stack.decompose_resid_to_last_mlp.stack", toMlp.stack(),
                        r.expected.get("apply_ln_to_stack.decompose_resid_to_last_mlp.stack"), ATOL);
                assertClose("apply_ln_to_stack.decompose_resid_to_last_mlp.ln2",
                        r.cache.applyLnToStack(toMlp.stack(), LAST.layer(last).mlpInput(true)),
                        r.expected.get("apply_ln_to_stack.decompose_resid_to_last_mlp.ln2"), ATOL);
            }
        }
    }
}
