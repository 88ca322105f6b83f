package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class FeatureGeneratorTest extends ManagedArraysTest {
    private static final int BATCH = 20_000;



    @Test
    void independentFeaturesArePresentWithTheirProbabilityAndUniformInZeroOne() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(3).dHidden(2)
                .featureProbability(new double[][] {{1.0, 0.3, 0.0}, {0.05, 0.05, 0.05}}).build();
        NDArray batch = new FeatureGenerator(c, 1).generateBatch(manager, BATCH);
        assertThat(batch.getShape()).isEqualTo(new Shape(BATCH, 2, 3));
        float[] x = batch.toFloatArray();
        double[][] present = new double[2][3];
        double[][] sum = new double[2][3];
        for (int k = 0; k < x.length; k++) {
            assertThat(x[k]).isBetween(0f, 1f);
            int inst = (k / 3) % 2;
            int f = k % 3;
            if (x[k] != 0) {
                present[inst][f]++;
                sum[inst][f] += x[k];
            }
        }
        double[][] p = {{1.0, 0.3, 0.0}, {0.05, 0.05, 0.05}};
        for (int inst = 0; inst < 2; inst++) {
            for (int f = 0; f < 3; f++) {
                assertFrequency(present[inst][f], p[inst][f]);
                if (present[inst][f] > 100) {
                    // The mean of U(0, 1) is 1/2, standard error 0.29 / sqrt(n).
                    assertThat(sum[inst][f] / present[inst][f])
                            .isCloseTo(0.5, org.assertj.core.data.Offset.offset(
                                    5 * 0.29 / Math.sqrt(present[inst][f])));
                }
            }
        }
    }

    @Test
    void neuronComputationFeaturesAreSignedAndSymmetric() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.NEURON_COMPUTATION).nFeatures(2)
                .dHidden(2).featureProbabilityPerInstance(0.5).build();
        float[] x = new FeatureGenerator(c, 2).generateBatch(manager, BATCH).toFloatArray();
        int negative = 0;
        int present = 0;
        for (float v : x) {
            assertThat(v).isBetween(-1f, 1f);
            present += v != 0 ? 1 : 0;
            negative += v < 0 ? 1 : 0;
        }
        assertFrequency(present, 0.5, x.length);
        assertFrequency(negative, 0.5, present);
    }

    @Test
    void correlatedPairsArePresentTogether() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(5).dHidden(2)
                .nCorrelatedPairs(2).featureProbabilityPerInstance(0.2).build();
        float[] x = new FeatureGenerator(c, 3).generateBatch(manager, BATCH).toFloatArray();
        int[] present = new int[5];
        for (int b = 0; b < BATCH; b++) {
            for (int f = 0; f < 5; f++) {
                present[f] += x[b * 5 + f] != 0 ? 1 : 0;
            }
            assertThat(x[b * 5] != 0).isEqualTo(x[b * 5 + 1] != 0);
            assertThat(x[b * 5 + 2] != 0).isEqualTo(x[b * 5 + 3] != 0);
        }
        for (int f = 0; f < 5; f++) {
            assertFrequency(present[f], 0.2);
        }
    }

    @Test
    void anticorrelatedPairsNeverCoOccur() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(4).dHidden(2)
                .nCorrelatedPairs(1).nAnticorrelatedPairs(1).featureProbabilityPerInstance(0.3)
                .build();
        float[] x = new FeatureGenerator(c, 4).generateBatch(manager, BATCH).toFloatArray();
        int[] present = new int[4];
        int correlatedWithAnti = 0;
        for (int b = 0; b < BATCH; b++) {
            for (int f = 0; f < 4; f++) {
                present[f] += x[b * 4 + f] != 0 ? 1 : 0;
            }
            assertThat(x[b * 4 + 2] != 0 && x[b * 4 + 3] != 0).isFalse();
            correlatedWithAnti += x[b * 4] != 0 && x[b * 4 + 2] != 0 ? 1 : 0;
        }
        for (int f = 0; f < 4; f++) {
            assertFrequency(present[f], 0.3);
        }
        // Different pairs are independent of each other.
        assertFrequency(correlatedWithAnti, 0.3 * 0.3);
    }

    @Test
    void sameSeedSameBatchesOtherSeedOtherBatches() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(4).dHidden(2)
                .featureProbabilityPerInstance(0.5, 0.1).build();
        FeatureGenerator a = new FeatureGenerator(c, 7);
        FeatureGenerator b = new FeatureGenerator(c, 7);
        float[] first = a.generateBatch(manager, 64).toFloatArray();
        assertThat(b.generateBatch(manager, 64).toFloatArray()).isEqualTo(first);
        assertThat(a.generateBatch(manager, 64).toFloatArray()).isNotEqualTo(first);
        assertThat(new FeatureGenerator(c, 8).generateBatch(manager, 64).toFloatArray())
                .isNotEqualTo(first);
    }

    @Test
    void batchesAreIndependentCopiesAndAllocateNoDirectBuffers() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(8).dHidden(2)
                .featureProbabilityPerInstance(0.5, 0.5).build();
        FeatureGenerator data = new FeatureGenerator(c, 9);
        NDArray first = data.generateBatch(manager, 256);
        float[] kept = first.toFloatArray();
        data.generateBatch(manager, 256).close();
        assertThat(first.toFloatArray()).isEqualTo(kept);

        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)
                .stream().filter(pool -> pool.getName().equals("direct")).findFirst().orElseThrow();
        long buffers = direct.getCount();
        for (int k = 0; k < 200; k++) {
            data.generateBatch(manager, 256).close();
        }
        assertThat(direct.getCount()).isEqualTo(buffers);
    }

    @Test
    void rejectsEmptyAndOversizedBatches() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(1).dHidden(1)
                .build();
        assertThatThrownBy(() -> new FeatureGenerator(c, 0).generateBatch(manager, 0))
                .hasMessageContaining("batch size");
        ToyModelConfig wide = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nInstances(1000)
                .nFeatures(1000).dHidden(1).build();
        assertThatThrownBy(() -> new FeatureGenerator(wide, 0).generateBatch(manager, 1000))
                .hasMessageContaining("a batch of 1000 x 1000 instances x 1000 features exceeds");
    }

    private static void assertFrequency(double count, double p) {
        assertFrequency(count, p, BATCH);
    }

    /** The count of a binomial(n, p) lies within 5 standard deviations of n p. */
    private static void assertFrequency(double count, double p, int n) {
        double sd = Math.sqrt(n * p * (1 - p));
        assertThat(count).isBetween(n * p - 5 * sd - 1e-9, n * p + 5 * sd + 1e-9);
    }
}
