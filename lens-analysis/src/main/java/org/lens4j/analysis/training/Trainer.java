package org.lens4j.analysis.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.ReturnType;

/**
 * Trains a {@link HookedTransformer} in place on a {@link TrainingTask}: next-token cross-entropy,
 * AdamW ({@link AdamW}), optional warm-up and gradient clipping.
 *
 * <p>Every parameter of the model is trained. Batches come from a {@link Random} seeded with
 * {@link TrainerOptions#seed()}, and nothing else in a step is random, so on CPU with a fixed number of
 * PyTorch threads two runs from the same initial weights give bit-identical weights and losses.
 *
 * <pre>{@code
 * HookedTransformerConfig cfg = ...;                 // seeded: cfg.seed() fixes the initial weights
 * try (HookedTransformer model = HookedTransformer.init(cfg)) {
 *     TrainingLog log = Trainer.train(model, new InductionTask(256, 64, 8, 24),
 *             TrainerOptions.builder().steps(3000).lr(1e-3).build());
 * }
 * }</pre>
 */
public final class Trainer {

    /** Receives each step's loss, e.g. to print progress. */
    @FunctionalInterface
    public interface StepListener {
        /**
         * @param step 0-based step index
         * @param loss the step's training loss (before the update)
         */
        void onStep(int step, double loss);
    }

    private Trainer() {}

    /** Trains without progress reports. */
    public static TrainingLog train(HookedTransformer model, TrainingTask task, TrainerOptions options) {
        return train(model, task, options, (step, loss) -> { });
    }

    /**
     * Trains the model's parameters in place.
     *
     * @return the loss of every step
     * @throws IllegalArgumentException if the task's tokens do not fit the model (d_vocab, n_ctx)
     * @throws IllegalStateException if the loss stops being finite (the step is named)
     */
    public static TrainingLog train(HookedTransformer model, TrainingTask task, TrainerOptions options,
            StepListener listener) {
        checkFits(model, task);
        Map<String, NDArray> params = model.stateDict();
        Random rng = new Random(options.seed());
        double[] losses = new double[options.steps()];
        for (NDArray p : params.values()) {
            p.setRequiresGradient(true);
        }
        try (AdamW optimiser = new AdamW(params, options)) {
            for (int step = 0; step < options.steps(); step++) {
                double loss = step(model, task, options, optimiser, rng, step);
                losses[step] = loss;
                listener.onStep(step, loss);
            }
        } finally {
            for (NDArray p : params.values()) {
                p.setRequiresGradient(false);
            }
        }
        return new TrainingLog(losses);
    }

    /** One optimiser step; every array it creates is freed before it returns. */
    private static double step(HookedTransformer model, TrainingTask task, TrainerOptions options, AdamW optimiser,
            Random rng, int step) {
        Map<String, NDArray> params = model.stateDict();
        try (NDManager stepManager = NDManager.newBaseManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            Batch batch = task.sample(stepManager, options.batchSize(), rng);
            double loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray lossArray = batchLoss(model, batch);
                collector.backward(lossArray);
                loss = lossArray.toType(DataType.FLOAT64, false).getDouble();
            }
            if (!Double.isFinite(loss)) {
                throw new IllegalStateException("training loss is " + loss + " at step " + step + " (lr "
                        + options.lrAt(step) + "): lower the learning rate or clip gradients");
            }
            Map<String, NDArray> grads = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                grads.put(e.getKey(), e.getValue().getGradient());
            }
            if (options.gradClip() > 0) {
                clipGradients(grads, options.gradClip());
            }
            optimiser.step(grads, options.lrAt(step));
            // PyTorch adds each backward's gradients to the stored ones: start the next step from 0.
            for (NDArray g : grads.values()) {
                g.subi(g);
            }
            return loss;
        }
    }

    /** The batch's next-token loss: the mean over all positions, or the mask-weighted mean. */
    static NDArray batchLoss(HookedTransformer model, Batch batch) {
        if (batch.lossMask() == null) {
            return model.run(batch.tokens(), ForwardOptions.builder().returnType(ReturnType.LOSS).build()).loss();
        }
        NDArray perToken = model.run(batch.tokens(),
                ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build()).loss();
        return perToken.mul(batch.lossMask()).sum().div(batch.lossMask().sum());
    }

    /**
     * Scales the gradients in place so that their global L2 norm is at most {@code maxNorm}.
     *
     * @return the norm before clipping
     */
    static double clipGradients(Map<String, NDArray> grads, double maxNorm) {
        double sumSquares = 0;
        for (NDArray g : grads.values()) {
            sumSquares += g.square().sum().toType(DataType.FLOAT64, false).getDouble();
        }
        double norm = Math.sqrt(sumSquares);
        if (norm > maxNorm) {
            for (NDArray g : grads.values()) {
                g.muli(maxNorm / norm);
            }
        }
        return norm;
    }

    private static void checkFits(HookedTransformer model, TrainingTask task) {
        var cfg = model.config();
        if (task.vocabSize() > cfg.dVocab()) {
            throw new IllegalArgumentException("the task uses " + task.vocabSize() + " token ids but the model's d_vocab is "
                    + cfg.dVocab());
        }
        if (task.sequenceLength() > cfg.nCtx()) {
            throw new IllegalArgumentException("the task's sequences have " + task.sequenceLength()
                    + " tokens but the model's n_ctx is " + cfg.nCtx());
        }
    }
}
