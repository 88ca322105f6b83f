package org.lens4j.examples;

import java.util.Locale;
import org.lens4j.analysis.superposition.ToyModel;
import org.lens4j.analysis.superposition.ToyModelConfig;
import org.lens4j.analysis.superposition.ToyModelKind;
import org.lens4j.analysis.superposition.ToyModelTrainer;
import org.lens4j.analysis.superposition.TrainingOptions;
import org.lens4j.analysis.superposition.TrainingResult;

/**
 * Measures the cost of one toy-model training step (batch 1024) with one and two PyTorch
 * intra-op threads, and prints a Markdown table for docs/superposition.md.
 *
 * <pre>java -cp lens.jar org.lens4j.examples.SuperpositionBench [steps]</pre>
 */
public final class SuperpositionBench {
    private SuperpositionBench() {
    }

    /** Runs the benchmark; the optional argument is the number of timed steps (default 500). */
    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        ToyModelConfig fiveFeatures = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT)
                .nFeatures(5).dHidden(2).importanceDecay(0.9)
                .featureProbabilityPerInstance(1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01).build()
                .repeatInstances(4);
        ToyModelConfig computation = ToyModelConfig.builder(ToyModelKind.NEURON_COMPUTATION)
                .nFeatures(20).dHidden(10).importanceDecay(0.8)
                .featureProbabilityPerInstance(1.0, 0.5, 0.2, 0.1, 0.05, 0.02).build()
                .repeatInstances(2);
        System.out.println("| model | instances | threads | ms per step |");
        System.out.println("|---|---|---|---|");
        for (ToyModelConfig config : new ToyModelConfig[] {fiveFeatures, computation}) {
            for (int threads : new int[] {1, 2}) {
                double ms = millisPerStep(config, threads, steps);
                System.out.printf(Locale.ROOT, "| %s, %d features, d_hidden %d | %d | %d | %.2f |%n",
                        config.kind().id(), config.nFeatures(), config.dHidden(),
                        config.nInstances(), threads, ms);
            }
        }
    }

    private static double millisPerStep(ToyModelConfig config, int threads, int steps) {
        try (ToyModel model = ToyModel.create(config, 0)) {
            TrainingOptions.Builder options = TrainingOptions.builder().threads(threads)
                    .evaluationBatches(1);
            ToyModelTrainer.train(model, options.steps(Math.max(1, steps / 5)).build()); // warm-up
            TrainingResult timed = ToyModelTrainer.train(model, options.steps(steps).build());
            return timed.elapsed().toNanos() / 1e6 / steps;
        }
    }
}
