package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdamTest extends ManagedArraysTest {
    @Test
    void matchesPyTorchsUpdateRule() {
        float[] start = {0.5f, -1.0f, 2.0f};
        float[][] gradients = {{0.1f, -0.2f, 0.3f}, {1.0f, 0.0f, -2.0f}, {-0.5f, 0.25f, 4.0f}};
        double[] rates = {0.1, 0.05, 0.2};
        double b1 = 0.8;
        double b2 = 0.9;
        double eps = 1e-3;
        NDArray p = manager.create(start.clone());
        p.setRequiresGradient(true);
        double[] expected = {start[0], start[1], start[2]};
        double[] m = new double[3];
        double[] v = new double[3];
        try (Adam adam = new Adam(List.of(p), b1, b2, eps)) {
            for (int t = 1; t <= gradients.length; t++) {
                NDArray c = manager.create(gradients[t - 1]);
                try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
                    collector.backward(p.mul(c).sum()); // dL/dp = c
                }
                adam.step(rates[t - 1]);
                for (int k = 0; k < 3; k++) {
                    double g = gradients[t - 1][k];
                    m[k] = b1 * m[k] + (1 - b1) * g;
                    v[k] = b2 * v[k] + (1 - b2) * g * g;
                    double denominator = Math.sqrt(v[k]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                    expected[k] -= rates[t - 1] / (1 - Math.pow(b1, t)) * m[k] / denominator;
                }
                float[] actual = p.toFloatArray();
                for (int k = 0; k < 3; k++) {
                    assertThat(actual[k]).isCloseTo((float) expected[k], within(1e-6f));
                }
                assertThat(p.getGradient().toFloatArray()).containsOnly(0f);
            }
            assertThat(adam.stepCount()).isEqualTo(3);
        }
    }

    @Test
    @SuppressWarnings("try")
    void stateSurvivesTheScopeTheOptimiserWasCreatedIn() {
        NDArray p = manager.create(new float[] {1f});
        p.setRequiresGradient(true);
        Adam adam;
        try (NDScope scope = new NDScope()) {
            adam = new Adam(List.of(p));
        }
        try (adam) {
            try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
                collector.backward(p.mul(2).sum());
            }
            adam.step(0.5);
            // First Adam step moves by lr * sign(g) (up to epsilon).
            assertThat(p.toFloatArray()[0]).isCloseTo(0.5f, within(1e-6f));
        }
    }

    @Test
    void rejectsParametersWithoutGradientAndBadHyperParameters() {
        NDArray p = manager.create(new float[] {1f});
        p.setName("weights");
        assertThatThrownBy(() -> new Adam(List.of(p)))
                .hasMessageContaining("parameter weights").hasMessageContaining("no gradient");
        p.setRequiresGradient(true);
        assertThatThrownBy(() -> new Adam(List.of(p), 1.0, 0.9, 1e-8))
                .hasMessageContaining("beta1=1.0");
        assertThatThrownBy(() -> new Adam(List.of(p), 0.9, 0.9, 0))
                .hasMessageContaining("epsilon=0.0");
    }
}
