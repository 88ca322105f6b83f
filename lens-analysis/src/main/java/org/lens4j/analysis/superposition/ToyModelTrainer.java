package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import java.time.Duration;

/**
 * Trains toy models with Adam on freshly drawn feature batches, minimising the sum over
 * instances of each instance's importance-weighted MSE.
 *
 * <p>Each step runs in an {@link NDScope}, so training runs in flat native memory. Training
 * uses the engine's gradient collector, of which only one may be open per JVM: train one model
 * at a time. While training, the calling thread's PyTorch intra-op thread count is set to
 * {@link TrainingOptions#threads()} (default 1) and restored afterwards.
 */
public final class ToyModelTrainer {
    /** Salts that keep the evaluation data and the initial weights apart from the training data. */
    private static final long EVALUATION_SEED_SALT = 0x5EEDL;
    private static final long INIT_SEED_SALT = 0x1A17L;

    private ToyModelTrainer() {
    }

    /**
     * Trains all instances of {@code model} in place.
     *
     * @return the final loss of each instance and the time taken
     */
    @SuppressWarnings("try") // the scopes act by being open
    public static TrainingResult train(ToyModel model, TrainingOptions options) {
        FeatureGenerator data = new FeatureGenerator(model.config(), options.seed());
        long start = System.nanoTime();
        try (NDManager manager = NDManager.newBaseManager();
                IntraOpThreads threadCount = new IntraOpThreads(options.threads());
                Adam adam = new Adam(model.parameters().values())) {
            for (int step = 0; step < options.steps(); step++) {
                try (NDScope scope = new NDScope()) {
                    NDArray batch = data.generateBatch(manager, options.batchSize());
                    try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
                        NDArray loss = model.lossPerInstance(model.forward(batch), batch).sum();
                        collector.backward(loss);
                    }
                    adam.step(options.learningRate()
                            * options.schedule().factor(step, options.steps()));
                }
            }
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        float[] loss = evaluate(model, options.seed() ^ EVALUATION_SEED_SALT,
                options.evaluationBatches(), options.batchSize(), options.threads());
        return new TrainingResult(loss, options.steps(), elapsed);
    }

    /**
     * Trains {@code restarts} independently initialised copies of every instance of {@code
     * config} in one run and keeps, per instance, the copy with the lowest final loss, as
     * Elhage et al. did. The initial weights and the data are both seeded from {@link
     * TrainingOptions#seed()}.
     *
     * @param restarts copies per instance, at least 1
     * @return a model with {@code config.nInstances()} instances, and their losses
     */
    public static BestOfN trainBestOf(ToyModelConfig config, int restarts, TrainingOptions options) {
        ToyModelConfig repeated = config.repeatInstances(restarts);
        try (ToyModel all = ToyModel.create(repeated, options.seed() ^ INIT_SEED_SALT)) {
            TrainingResult result = train(all, options);
            int n = config.nInstances();
            int[] chosen = new int[n];
            float[][] restartLoss = new float[n][restarts];
            int[] keep = new int[n];
            for (int i = 0; i < n; i++) {
                for (int r = 0; r < restarts; r++) {
                    restartLoss[i][r] = result.finalLoss()[i * restarts + r];
                    if (restartLoss[i][r] < restartLoss[i][chosen[i]]) {
                        chosen[i] = r;
                    }
                }
                keep[i] = i * restarts + chosen[i];
            }
            return new BestOfN(all.selectInstances(keep), chosen, restartLoss, result.elapsed());
        }
    }

    /**
     * Measures each instance's loss on fresh batches, without gradients, with one PyTorch
     * intra-op thread.
     *
     * @param seed seeds the evaluation data
     * @return the mean loss over {@code batches} batches, {@code [instances]}
     */
    public static float[] evaluate(ToyModel model, long seed, int batches, int batchSize) {
        return evaluate(model, seed, batches, batchSize, 1);
    }

    @SuppressWarnings("try") // the scopes act by being open
    private static float[] evaluate(ToyModel model, long seed, int batches, int batchSize,
            int threads) {
        FeatureGenerator data = new FeatureGenerator(model.config(), seed);
        float[] total = new float[model.config().nInstances()];
        try (NDManager manager = NDManager.newBaseManager();
                IntraOpThreads threadCount = new IntraOpThreads(threads)) {
            for (int b = 0; b < batches; b++) {
                try (NDScope scope = new NDScope()) {
                    NDArray batch = data.generateBatch(manager, batchSize);
                    float[] loss = model.lossPerInstance(model.forward(batch), batch).toFloatArray();
                    for (int i = 0; i < total.length; i++) {
                        total[i] += loss[i] / batches;
                    }
                }
            }
        }
        return total;
    }
}
