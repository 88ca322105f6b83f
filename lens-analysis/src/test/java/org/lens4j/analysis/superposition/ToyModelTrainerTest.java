package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The acceptance criteria on small, fast settings (the CLI's standard settings train
 * longer; docs/superposition.md has their numbers).
 */
class ToyModelTrainerTest {

    /** Five features, d_hidden 2, importance 0.9^i, dense and sparse, best of 4 restarts. */
    private static ExperimentResult fiveFeatures() {
        ToyModelConfig config = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(5)
                .dHidden(2).importanceDecay(0.9).featureProbabilityPerInstance(1.0, 0.01).build();
        TrainingOptions options = TrainingOptions.builder().steps(2000).learningRate(3e-2).build();
        return new SuperpositionExperiment("five-features", config, 4, options).run();
    }

    @Test
    void fiveFeaturesInTwoDimensionsGoFromTwoFeaturesToAPentagonAsSparsityGrows() {
        FeatureGeometry g = fiveFeatures().geometry();
        float[] dense = g.norms()[0];
        // p = 1: exactly the two most important features are represented, the others near 0.
        assertThat(dense[0]).isGreaterThan(0.5f);
        assertThat(dense[1]).isGreaterThan(0.5f);
        for (int f = 2; f < 5; f++) {
            assertThat(dense[f]).isLessThan(0.3f);
        }
        // p = 0.01: superposition, at least 4 of the 5 features represented.
        assertThat(g.representedFeatures(1, 0.5)).isGreaterThanOrEqualTo(4);
        // The sparsest setting with all five represented lays them out as a pentagon.
        assertThat(g.representedFeatures(1, 0.5)).isEqualTo(5);
        assertThat(g.neighbourAngles(1, 0.5)).hasSize(5)
                .containsExactly(new double[] {72, 72, 72, 72, 72}, within(3.0));
    }

    @Test
    void neuronComputationModelLearnsAntipodalPairsAtProbabilityOneHalf() {
        ToyModelConfig config = ToyModelConfig.builder(ToyModelKind.NEURON_COMPUTATION)
                .nFeatures(20).dHidden(10).importanceDecay(0.8).featureProbabilityPerInstance(0.5)
                .build();
        TrainingOptions options = TrainingOptions.builder().steps(1000).learningRate(2e-2).build();
        try (ToyModel model = ToyModel.create(config, 0)) {
            ToyModelTrainer.train(model, options);
            NeuronComputationModel m = (NeuronComputationModel) model;
            List<AntipodalPair> pairs = AntipodalPair.find(m.W1(), m.W2(), -0.9);
            assertThat(pairs).isNotEmpty().allSatisfy(p -> {
                assertThat(p.cosine()).isLessThan(-0.9);
                assertThat(p.inputWeightA() * p.inputWeightB()).isNegative();
                assertThat(p.outputWeightA()).isPositive();
                assertThat(p.outputWeightB()).isPositive();
            });
            // Pairs go to the most important features first.
            assertThat(pairs).extracting(AntipodalPair::feature).contains(0);
        }
    }

    /**
     * Every instance ends below the loss of the best input-independent output, {@code b_f =
     * E[target_f]}, whose loss is {@code mean_f I_f Var(target_f)} with {@code Var = p/3 - p²/4}
     * for a target that is {@code U(0, 1)} with probability {@code p} and 0 otherwise.
     */
    @ParameterizedTest
    @EnumSource(ToyModelKind.class)
    void trainingBeatsTheBestConstantOutput(ToyModelKind kind) {
        double[] p = {0.5, 0.1};
        ToyModelConfig config = ToyModelConfig.builder(kind).nFeatures(6).dHidden(3)
                .importanceDecay(0.9).featureProbabilityPerInstance(p).build();
        TrainingOptions options = TrainingOptions.builder().steps(300).batchSize(256)
                .learningRate(1e-2).build();
        try (ToyModel model = ToyModel.create(config, 1)) {
            float[] before = ToyModelTrainer.evaluate(model, 99, 4, 256);
            TrainingResult result = ToyModelTrainer.train(model, options);
            float[] after = ToyModelTrainer.evaluate(model, 99, 4, 256);
            assertThat(result.steps()).isEqualTo(300);
            assertThat(result.finalLoss()).hasSize(2);
            for (int i = 0; i < 2; i++) {
                double constant = 0;
                for (int f = 0; f < 6; f++) {
                    constant += Math.pow(0.9, f) * (p[i] / 3 - p[i] * p[i] / 4) / 6;
                }
                assertThat(after[i]).isLessThan(before[i]).isLessThan((float) constant);
            }
        }
    }

    @Test
    void sameSeedSameModel() {
        ToyModelConfig config = ToyModelConfig.builder(ToyModelKind.HIDDEN_RELU).nFeatures(4)
                .dHidden(2).featureProbabilityPerInstance(0.3).build();
        TrainingOptions options = TrainingOptions.builder().steps(30).batchSize(64).seed(5).build();
        try (ToyModel a = ToyModel.create(config, 2); ToyModel b = ToyModel.create(config, 2)) {
            TrainingResult ra = ToyModelTrainer.train(a, options);
            TrainingResult rb = ToyModelTrainer.train(b, options);
            assertThat(b.W().toFloatArray()).isEqualTo(a.W().toFloatArray());
            assertThat(rb.finalLoss()).isEqualTo(ra.finalLoss());
        }
    }

    @Test
    void bestOfKeepsTheLowestLossRestart() {
        ToyModelConfig config = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(4)
                .dHidden(2).featureProbabilityPerInstance(1.0, 0.1).build();
        TrainingOptions options = TrainingOptions.builder().steps(50).batchSize(128).build();
        try (BestOfN best = ToyModelTrainer.trainBestOf(config, 3, options)) {
            assertThat(best.model().config().nInstances()).isEqualTo(2);
            float[][] restarts = best.restartLoss();
            for (int i = 0; i < 2; i++) {
                assertThat(restarts[i]).hasSize(3);
                float min = Math.min(restarts[i][0], Math.min(restarts[i][1], restarts[i][2]));
                assertThat(best.loss()[i]).isEqualTo(min);
                assertThat(restarts[i][best.chosenRestart()[i]]).isEqualTo(min);
            }
            assertThat(best.model().config().featureProbability(1, 0)).isEqualTo(0.1f);
            assertThat(best.elapsed()).isPositive();
        }
    }

    @Test
    void trainingRunsInFlatNativeMemory() {
        ToyModelConfig config = ToyModelConfig.builder(ToyModelKind.NEURON_COMPUTATION)
                .nFeatures(4).dHidden(2).build();
        try (ToyModel model = ToyModel.create(config, 0)) {
            NDManager own = model.W().getManager();
            int parameterArrays = own.getManagedArrays().size();
            ToyModelTrainer.train(model, TrainingOptions.builder().steps(5).batchSize(8).build());
            assertThat(own.getManagedArrays()).hasSize(parameterArrays);
            ToyModelTrainer.train(model, TrainingOptions.builder().steps(100).batchSize(8).build());
            assertThat(own.getManagedArrays()).hasSize(parameterArrays);
        }
    }
}
