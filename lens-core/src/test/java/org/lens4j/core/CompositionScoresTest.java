package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.ArrayAsserts.assertAllClose;
import static org.lens4j.core.ArrayAsserts.matrix;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link CompositionScores} against the dense definition on random attention weights. */
class CompositionScoresTest {

    private static final int LAYERS = 3;
    private static final int HEADS = 2;
    private static final int D_MODEL = 8;
    private static final int D_HEAD = 3;

    private NDManager manager;
    private NDArray wQ;
    private NDArray wK;
    private NDArray wV;
    private NDArray wO;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
        Random random = new Random(7);
        wQ = randn(random, LAYERS, HEADS, D_MODEL, D_HEAD);
        wK = randn(random, LAYERS, HEADS, D_MODEL, D_HEAD);
        wV = randn(random, LAYERS, HEADS, D_MODEL, D_HEAD);
        wO = randn(random, LAYERS, HEADS, D_HEAD, D_MODEL);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray randn(Random random, long... shape) {
        Shape s = new Shape(shape);
        float[] data = new float[(int) s.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        return manager.create(data, s);
    }

    /** The dense [d_model, d_model] circuit of head (layer, head), float64. */
    private static RealMatrix circuit(NDArray left, NDArray right, int layer, int head, boolean transpose) {
        int index = layer * HEADS + head;
        RealMatrix m = matrix(left, index).multiply(matrix(right, index));
        return transpose ? m.transpose() : m;
    }

    @ParameterizedTest
    @EnumSource(CompositionScores.Mode.class)
    void matchesTheDenseDefinitionForLaterHeadsOnly(CompositionScores.Mode mode) {
        NDArray wKt = wK.transpose(0, 1, 3, 2);
        float[] expected = new float[LAYERS * HEADS * LAYERS * HEADS];
        for (int l1 = 0; l1 < LAYERS; l1++) {
            for (int h1 = 0; h1 < HEADS; h1++) {
                RealMatrix ov = circuit(wV, wO, l1, h1, false);
                for (int l2 = l1 + 1; l2 < LAYERS; l2++) {
                    for (int h2 = 0; h2 < HEADS; h2++) {
                        RealMatrix right = switch (mode) {
                            case Q -> circuit(wQ, wKt, l2, h2, false);
                            case K -> circuit(wQ, wKt, l2, h2, true);
                            case V -> circuit(wV, wO, l2, h2, false);
                        };
                        expected[((l1 * HEADS + h1) * LAYERS + l2) * HEADS + h2] = (float) (
                                ov.multiply(right).getFrobeniusNorm() / ov.getFrobeniusNorm()
                                        / right.getFrobeniusNorm());
                    }
                }
            }
        }
        try (FactoredMatrix ov = FactoredMatrix.ov(wV, wO); FactoredMatrix qk = FactoredMatrix.qk(wQ, wK)) {
            NDArray scores = CompositionScores.all(ov, qk, mode);
            assertAllClose(scores, manager.create(expected, new Shape(LAYERS, HEADS, LAYERS, HEADS)), 1e-5,
                    mode + "-composition");
            assertThat(CompositionScores.all(ov, qk, mode.name()).toFloatArray())
                    .containsExactly(scores.toFloatArray());
        }
    }

    @Test
    void rejectsUnknownModesAndMismatchedCircuits() {
        try (FactoredMatrix ov = FactoredMatrix.ov(wV, wO); FactoredMatrix qk = FactoredMatrix.qk(wQ, wK);
                FactoredMatrix layer0 = ov.get(0)) {
            assertThatThrownBy(() -> CompositionScores.all(ov, qk, "X"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mode must be one of [Q, K, V] not 'X'");
            assertThatThrownBy(() -> CompositionScores.all(layer0, qk, CompositionScores.Mode.Q))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[n_layers, n_heads, d_model, d_model]");
        }
    }

    @Test
    void qkRejectsKeyWeightsThatAreNotMatrices() {
        NDArray notMatrix = manager.ones(new Shape(D_MODEL));
        int before = manager.getManagedArrays().size();
        assertThatThrownBy(() -> FactoredMatrix.qk(wQ, notMatrix))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("W_K must be a matrix");
        assertThatThrownBy(() -> FactoredMatrix.qk(wQ, wO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("inner dimension");
        assertThat(manager.getManagedArrays()).as("nothing left behind by failed constructions").hasSize(before);
    }
}
