package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ToyModelTest extends ManagedArraysTest {
    private static final int INST = 3;
    private static final int HIDDEN = 4;
    private static final int FEAT = 6;
    private static final int BATCH = 5;



    @ParameterizedTest
    @EnumSource(ToyModelKind.class)
    void forwardAndLossMatchTheFormulas(ToyModelKind kind) {
        ToyModelConfig c = ToyModelConfig.builder(kind).nFeatures(FEAT).dHidden(HIDDEN)
                .featureProbabilityPerInstance(1.0, 0.5, 0.1).importanceDecay(0.8).build();
        Random r = new Random(11);
        Map<String, float[]> weights = new LinkedHashMap<>();
        ToyModel.parameterShapes(c).forEach((name, shape) ->
                weights.put(name, gaussian(r, (int) shape.size())));
        float[] x = new float[BATCH * INST * FEAT];
        for (int k = 0; k < x.length; k++) {
            x[k] = kind.signedFeatures() ? 2 * r.nextFloat() - 1 : r.nextFloat();
        }
        try (ToyModel model = ToyModel.fromWeights(c, weights)) {
            NDArray features = manager.create(x, new Shape(BATCH, INST, FEAT));
            NDArray out = model.forward(features);
            assertThat(out.getShape()).isEqualTo(new Shape(BATCH, INST, FEAT));
            float[] expected = referenceForward(kind, weights, x);
            float[] actual = out.toFloatArray();
            for (int k = 0; k < expected.length; k++) {
                assertThat(actual[k]).isCloseTo(expected[k], within(1e-5f));
            }
            float[] loss = model.lossPerInstance(out, features).toFloatArray();
            for (int i = 0; i < INST; i++) {
                double sum = 0;
                for (int b = 0; b < BATCH; b++) {
                    for (int f = 0; f < FEAT; f++) {
                        int k = (b * INST + i) * FEAT + f;
                        double target = kind.signedFeatures() ? Math.abs(x[k]) : x[k];
                        sum += Math.pow(0.8, f) * Math.pow(expected[k] - target, 2);
                    }
                }
                assertThat(loss[i]).isCloseTo((float) (sum / (BATCH * FEAT)), within(1e-5f));
            }
        }
    }

    /** The forward pass written out with loops, one instance and sample at a time. */
    private static float[] referenceForward(ToyModelKind kind, Map<String, float[]> w, float[] x) {
        float[] out = new float[x.length];
        boolean computation = kind == ToyModelKind.NEURON_COMPUTATION;
        float[] w1 = computation ? w.get("W1") : w.get("W");
        float[] b = w.get("b_final");
        for (int s = 0; s < BATCH; s++) {
            for (int i = 0; i < INST; i++) {
                double[] h = new double[HIDDEN];
                for (int n = 0; n < HIDDEN; n++) {
                    for (int f = 0; f < FEAT; f++) {
                        h[n] += w1[(i * HIDDEN + n) * FEAT + f] * x[(s * INST + i) * FEAT + f];
                    }
                    if (kind != ToyModelKind.RELU_OUTPUT) {
                        h[n] = Math.max(0, h[n]);
                    }
                }
                for (int f = 0; f < FEAT; f++) {
                    double y = b[i * FEAT + f];
                    for (int n = 0; n < HIDDEN; n++) {
                        double outWeight = computation ? w.get("W2")[(i * FEAT + f) * HIDDEN + n]
                                : w1[(i * HIDDEN + n) * FEAT + f];
                        y += outWeight * h[n];
                    }
                    out[(s * INST + i) * FEAT + f] = (float) Math.max(0, y);
                }
            }
        }
        return out;
    }

    @Test
    void createUsesXavierNormalPerInstanceAndZeroBias() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.NEURON_COMPUTATION).nInstances(40)
                .nFeatures(30).dHidden(20).build();
        try (ToyModel model = ToyModel.create(c, 5); ToyModel same = ToyModel.create(c, 5);
                ToyModel other = ToyModel.create(c, 6)) {
            for (String name : new String[] {"W1", "W2"}) {
                float[] w = model.parameter(name).toFloatArray();
                double mean = 0;
                double square = 0;
                for (float v : w) {
                    mean += v / (double) w.length;
                    square += v * (double) v / w.length;
                }
                double std = Math.sqrt(2.0 / (30 + 20));
                // 24,000 samples: the sample std is within 3% of std with overwhelming odds.
                assertThat(Math.sqrt(square - mean * mean)).isCloseTo(std, within(0.03 * std));
                assertThat(mean).isCloseTo(0, within(0.03 * std));
                assertThat(same.parameter(name).toFloatArray()).isEqualTo(w);
                assertThat(other.parameter(name).toFloatArray()).isNotEqualTo(w);
            }
            assertThat(model.bFinal().toFloatArray()).containsOnly(0f);
            assertThat(model.W()).isSameAs(model.parameter("W1"));
            assertThat(model.parameters().keySet()).containsExactly("W1", "W2", "b_final");
            assertThat(model.parameters().values()).allMatch(NDArray::hasGradient);
        }
    }

    @Test
    void selectInstancesCopiesTheChosenInstances() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(3).dHidden(2)
                .featureProbabilityPerInstance(1.0, 0.5, 0.1).build();
        float[] w = new float[3 * 2 * 3];
        float[] b = new float[3 * 3];
        for (int k = 0; k < w.length; k++) {
            w[k] = k;
        }
        for (int k = 0; k < b.length; k++) {
            b[k] = -k;
        }
        ToyModel picked;
        try (ToyModel model = ToyModel.fromWeights(c, Map.of("W", w, "b_final", b))) {
            picked = model.selectInstances(2, 0);
        }
        try (picked) {
            assertThat(picked).isInstanceOf(ReluOutputModel.class);
            assertThat(picked.config().featureProbability()).isEqualTo(new float[][] {
                {0.1f, 0.1f, 0.1f}, {1f, 1f, 1f}});
            assertThat(picked.W().toFloatArray()).containsExactly(
                    12, 13, 14, 15, 16, 17, 0, 1, 2, 3, 4, 5);
            assertThat(picked.bFinal().toFloatArray()).containsExactly(-6, -7, -8, 0, -1, -2);
        }
    }

    @Test
    void forwardKeepsIntermediatesOutOfTheModel() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.NEURON_COMPUTATION).nFeatures(3)
                .dHidden(2).build();
        try (ToyModel model = ToyModel.create(c, 1)) {
            NDManager own = model.W().getManager();
            int before = own.getManagedArrays().size();
            try (NDManager call = NDManager.newBaseManager()) {
                NDArray x = call.ones(new Shape(4, 1, 3));
                model.lossPerInstance(model.forward(x), x);
            }
            assertThat(own.getManagedArrays()).hasSize(before);
        }
    }

    @Test
    void rejectsBadWeightsAndFeatures() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.HIDDEN_RELU).nFeatures(3).dHidden(2)
                .build();
        assertThatThrownBy(() -> ToyModel.fromWeights(c, Map.of("W", new float[6])))
                .hasMessageContaining("[W, b_final]").hasMessageContaining("got [W]");
        assertThatThrownBy(() -> ToyModel.fromWeights(c,
                Map.of("W", new float[5], "b_final", new float[3])))
                .hasMessageContaining("parameter W (1, 2, 3) needs 6 values, got 5");
        try (ToyModel model = ToyModel.create(c, 0)) {
            NDArray wrong = manager.zeros(new Shape(4, 1, 2));
            assertThatThrownBy(() -> model.forward(wrong))
                    .hasMessageContaining("[batch, 1 instances, 3 features]")
                    .hasMessageContaining("(4, 1, 2)");
            NDArray x = manager.zeros(new Shape(4, 1, 3));
            assertThatThrownBy(() -> model.lossPerInstance(manager.zeros(new Shape(2, 1, 3)), x))
                    .hasMessageContaining("output shape");
            assertThatThrownBy(() -> model.parameter("W2"))
                    .hasMessageContaining("no parameter 'W2'");
        }
    }

    private static float[] gaussian(Random r, int n) {
        float[] v = new float[n];
        for (int k = 0; k < n; k++) {
            v[k] = (float) r.nextGaussian();
        }
        return v;
    }
}
