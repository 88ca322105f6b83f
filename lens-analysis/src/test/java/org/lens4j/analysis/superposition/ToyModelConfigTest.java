package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ToyModelConfigTest {

    @Test
    void broadcastsPerInstanceProbabilityAndPerFeatureImportance() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(3).dHidden(2)
                .featureProbabilityPerInstance(1.0, 0.25).importancePerFeature(3, 2, 1).build();
        assertThat(c.nInstances()).isEqualTo(2);
        assertThat(c.featureProbability()).isEqualTo(new float[][] {{1, 1, 1}, {0.25f, 0.25f, 0.25f}});
        assertThat(c.importance()).isEqualTo(new float[][] {{3, 2, 1}, {3, 2, 1}});
    }

    @Test
    void importanceDecayGivesPowersStartingAtOne() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).importanceDecay(0.9)
                .nFeatures(4).dHidden(2).build();
        assertThat(c.nInstances()).isEqualTo(1);
        for (int f = 0; f < 4; f++) {
            assertThat(c.importance(0, f)).isEqualTo((float) Math.pow(0.9, f));
        }
    }

    @Test
    void fullMatricesAndExplicitInstanceCount() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.HIDDEN_RELU).nInstances(2)
                .nFeatures(2).dHidden(1).featureProbability(new double[][] {{0.1, 0.2}, {0.3, 0.4}})
                .importance(new double[][] {{5}}).build();
        assertThat(c.featureProbability(1, 0)).isEqualTo(0.3f);
        assertThat(c.importance(1, 1)).isEqualTo(5f);
        assertThat(c.kind()).isEqualTo(ToyModelKind.HIDDEN_RELU);
    }

    @Test
    void repeatAndSelectInstances() {
        ToyModelConfig c = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(2).dHidden(1)
                .featureProbabilityPerInstance(0.5, 0.1).build();
        ToyModelConfig repeated = c.repeatInstances(3);
        assertThat(repeated.nInstances()).isEqualTo(6);
        float[] expected = {0.5f, 0.5f, 0.5f, 0.1f, 0.1f, 0.1f};
        for (int i = 0; i < 6; i++) {
            assertThat(repeated.featureProbability(i, 1)).isEqualTo(expected[i]);
        }
        assertThat(c.selectInstances(1, 1, 0).featureProbability())
                .isEqualTo(new float[][] {{0.1f, 0.1f}, {0.1f, 0.1f}, {0.5f, 0.5f}});
        assertThatThrownBy(() -> c.selectInstances(2)).hasMessageContaining("instance 2");
        assertThatThrownBy(() -> c.repeatInstances(0)).hasMessageContaining("repeat count");
    }

    @Test
    void rejectsBadValuesNamingTheOption() {
        assertThatThrownBy(() -> ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).dHidden(2).build())
                .hasMessageContaining("nFeatures");
        assertThatThrownBy(() -> ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(2)
                .build()).hasMessageContaining("dHidden");
        assertThatThrownBy(() -> ToyModelConfig.builder(null))
                .hasMessageContaining("kind");
        assertThatThrownBy(() -> base().featureProbabilityPerInstance(0.5, 1.5).build())
                .hasMessageContaining("featureProbability[1][0] = 1.5");
        assertThatThrownBy(() -> base().featureProbabilityPerInstance(Double.NaN).build())
                .hasMessageContaining("featureProbability[0][0] = NaN");
        assertThatThrownBy(() -> base().importancePerFeature(1, -1, 1, 1).build())
                .hasMessageContaining("importance[0][1] = -1");
        assertThatThrownBy(() -> base().importancePerFeature(1, 2).build())
                .hasMessageContaining("importance row 0 has 2 values")
                .hasMessageContaining("4 features");
        assertThatThrownBy(() -> base().nInstances(3).featureProbabilityPerInstance(0.1, 0.2).build())
                .hasMessageContaining("featureProbability has 2 rows")
                .hasMessageContaining("3 instances");
        assertThatThrownBy(() -> base().nCorrelatedPairs(2).nAnticorrelatedPairs(1).build())
                .hasMessageContaining("need 6 features");
        assertThatThrownBy(() -> base().nCorrelatedPairs(-1).build())
                .hasMessageContaining("nCorrelatedPairs");
    }

    @Test
    void rejectsPairsThatCannotBeSampled() {
        assertThatThrownBy(() -> base().nAnticorrelatedPairs(1).featureProbabilityPerInstance(0.6)
                .build()).hasMessageContaining("anticorrelated pair (0, 1)")
                .hasMessageContaining("<= 0.5");
        assertThatThrownBy(() -> base().nCorrelatedPairs(1)
                .featureProbability(new double[][] {{0.1, 0.2, 0.1, 0.1}}).build())
                .hasMessageContaining("features 0 and 1 form a pair");
    }

    private static ToyModelConfig.Builder base() {
        return ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(4).dHidden(2);
    }
}
