package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

class AntipodalPairTest extends ManagedArraysTest {
    @Test
    void findsNeuronPairsComputingAbsoluteValue() {
        // 3 features, 6 neurons:
        // 0, 1: feature 0 with opposite signs, positive outputs           -> a pair
        // 2, 3: feature 1 with opposite signs, but neuron 3 writes negatively -> no pair
        // 4, 5: feature 2 with opposite signs, but they also read feature 0 -> cosine -0.6
        float[] w1 = {
            1.0f, 0.1f, 0.0f,
            -0.9f, -0.05f, 0.0f,
            0.0f, 1.0f, 0.0f,
            0.0f, -1.0f, 0.0f,
            0.5f, 0.0f, 1.0f,
            0.5f, 0.0f, -1.0f};
        float[] w2 = {
            1.1f, 0.9f, 0, 0, 0, 0,
            0, 0, 1.0f, -0.5f, 0, 0,
            0, 0, 0, 0, 1.0f, 1.0f};
        NDArray in = manager.create(w1, new Shape(1, 6, 3));
        NDArray out = manager.create(w2, new Shape(1, 3, 6));
        List<AntipodalPair> pairs = AntipodalPair.find(in, out, -0.9);
        assertThat(pairs).hasSize(1);
        AntipodalPair p = pairs.get(0);
        assertThat(p.instance()).isZero();
        assertThat(p.feature()).isZero();
        assertThat(p.neuronA()).isZero();
        assertThat(p.neuronB()).isEqualTo(1);
        double expectedCosine = (-0.9 - 0.005) / Math.sqrt(1.01 * (0.81 + 0.0025));
        assertThat(p.cosine()).isCloseTo(expectedCosine, within(1e-6));
        assertThat(p.inputWeightA()).isEqualTo(1.0f);
        assertThat(p.inputWeightB()).isEqualTo(-0.9f);
        assertThat(p.outputWeightA()).isEqualTo(1.1f);
        assertThat(p.outputWeightB()).isEqualTo(0.9f);
        // A looser bound also accepts neurons 4 and 5 (cosine (0.25 - 1) / 1.25 = -0.6).
        assertThat(AntipodalPair.find(in, out, -0.5)).extracting(AntipodalPair::feature)
                .containsExactly(0, 2);
    }

    @Test
    void rejectsMismatchedShapes() {
        assertThatThrownBy(() -> AntipodalPair.find(manager.zeros(new Shape(1, 4, 3)),
                manager.zeros(new Shape(1, 4, 3)), -0.9))
                .hasMessageContaining("W1 (1, 4, 3) and W2 (1, 4, 3)");
    }
}
