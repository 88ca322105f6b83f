package org.lens4j.core;

import static org.lens4j.core.ArrayAsserts.assertAllClose;
import static org.lens4j.core.ArrayAsserts.assertSameComplexMultiset;
import static org.lens4j.core.ArrayAsserts.toDoubles;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Parity with TransformerLens 2.12: {@code model.OV} / {@code model.QK} and
 * {@code model.all_composition_scores} of three seeded random models (unprocessed weights),
 * from {@code analysis.safetensors} in the shared fixtures.
 */
class FactoredMatrixFixtureTest {

    private static final double ATOL = 1e-5;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** The model's attention weights stacked over layers, as TransformerLens's {@code model.W_Q} etc. */
    private record Weights(NDArray wQ, NDArray wK, NDArray wV, NDArray wO) {}

    private Weights weights(String model) {
        NDList all = ArrayAsserts.loadResource(manager, "fixtures/tl-2.12/" + model + "/model/weights.safetensors");
        return new Weights(stack(all, "W_Q"), stack(all, "W_K"), stack(all, "W_V"), stack(all, "W_O"));
    }

    private static NDArray stack(NDList all, String name) {
        NDList layers = new NDList();
        for (int l = 0; all.contains("blocks." + l + ".attn." + name); l++) {
            layers.add(all.get("blocks." + l + ".attn." + name));
        }
        return NDArrays.stack(layers);
    }

    private NDList analysis(String model) {
        return ArrayAsserts.loadResource(manager, "fixtures/tl-2.12/" + model + "/analysis.safetensors");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void fullProductsMatch(String model) {
        Weights w = weights(model);
        NDList expected = analysis(model);
        try (FactoredMatrix ov = FactoredMatrix.ov(w.wV(), w.wO());
                FactoredMatrix qk = FactoredMatrix.qk(w.wQ(), w.wK())) {
            assertAllClose(ov.ab(), expected.get("factored.OV.AB"), ATOL, model + " OV.AB");
            assertAllClose(qk.ab(), expected.get("factored.QK.AB"), ATOL, model + " QK.AB");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void singularValuesAndNormsMatch(String model) {
        Weights w = weights(model);
        NDList expected = analysis(model);
        try (FactoredMatrix ov = FactoredMatrix.ov(w.wV(), w.wO());
                FactoredMatrix qk = FactoredMatrix.qk(w.wQ(), w.wK())) {
            assertAllClose(ov.s(), expected.get("factored.OV.S"), ATOL, model + " OV.S");
            assertAllClose(qk.s(), expected.get("factored.QK.S"), ATOL, model + " QK.S");
            assertAllClose(ov.norm(), expected.get("factored.OV.norm"), ATOL, model + " OV.norm");
            assertAllClose(qk.norm(), expected.get("factored.QK.norm"), ATOL, model + " QK.norm");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void eigenvaluesMatchAsMultisets(String model) {
        Weights w = weights(model);
        NDList expected = analysis(model);
        try (FactoredMatrix ov = FactoredMatrix.ov(w.wV(), w.wO());
                FactoredMatrix qk = FactoredMatrix.qk(w.wQ(), w.wK())) {
            assertEigenvalues(ov.eigenvalues(), expected, "OV", model);
            assertEigenvalues(qk.eigenvalues(), expected, "QK", model);
        }
    }

    private static void assertEigenvalues(ComplexTensor actual, NDList expected, String circuit,
            String model) {
        NDArray expRe = expected.get("factored." + circuit + ".eigenvalues_real");
        org.assertj.core.api.Assertions.assertThat(actual.getShape()).isEqualTo(expRe.getShape());
        int m = (int) expRe.getShape().get(expRe.getShape().dimension() - 1);
        double[] re = toDoubles(actual.real());
        double[] im = toDoubles(actual.imag());
        double[] eRe = toDoubles(expRe);
        double[] eIm = toDoubles(expected.get("factored." + circuit + ".eigenvalues_imag"));
        for (int head = 0; head < re.length / m; head++) {
            int from = head * m;
            int to = from + m;
            assertSameComplexMultiset(Arrays.copyOfRange(re, from, to), Arrays.copyOfRange(im, from, to),
                    Arrays.copyOfRange(eRe, from, to), Arrays.copyOfRange(eIm, from, to), ATOL,
                    model + " " + circuit + " eigenvalues of head " + head);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void compositionScoresMatch(String model) {
        Weights w = weights(model);
        NDList expected = analysis(model);
        try (FactoredMatrix ov = FactoredMatrix.ov(w.wV(), w.wO());
                FactoredMatrix qk = FactoredMatrix.qk(w.wQ(), w.wK())) {
            for (CompositionScores.Mode mode : CompositionScores.Mode.values()) {
                assertAllClose(CompositionScores.all(ov, qk, mode),
                        expected.get("composition_scores." + mode), ATOL, model + " " + mode + "-composition");
            }
        }
    }
}
