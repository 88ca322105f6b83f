package org.lens4j.analysis.training;

/**
 * Settings of a {@link Trainer} run. Immutable; build with {@link #builder()}.
 *
 * <p>The learning rate rises linearly from {@code lr / warmupSteps} to {@code lr} over the first
 * {@code warmupSteps} steps and then stays constant.
 *
 * @param steps number of optimiser steps (at least 1)
 * @param batchSize sequences per step (at least 1)
 * @param lr peak learning rate
 * @param weightDecay decoupled (AdamW) weight decay, applied to the weight matrices and embeddings
 *     (parameters named {@code W_*}) only, not to biases or norm weights
 * @param beta1 AdamW's first-moment decay
 * @param beta2 AdamW's second-moment decay
 * @param eps AdamW's denominator epsilon
 * @param warmupSteps linear warm-up length (0 = none)
 * @param gradClip maximum global L2 norm of the gradient; 0 = no clipping
 * @param seed seed of the batch generator
 */
public record TrainerOptions(int steps, int batchSize, double lr, double weightDecay, double beta1, double beta2,
        double eps, int warmupSteps, double gradClip, long seed) {

    /** Checks the values. */
    public TrainerOptions {
        require(steps >= 1, "steps", steps);
        require(batchSize >= 1, "batchSize", batchSize);
        require(lr > 0 && Double.isFinite(lr), "lr", lr);
        require(weightDecay >= 0 && Double.isFinite(weightDecay), "weightDecay", weightDecay);
        require(beta1 >= 0 && beta1 < 1, "beta1", beta1);
        require(beta2 >= 0 && beta2 < 1, "beta2", beta2);
        require(eps > 0, "eps", eps);
        require(warmupSteps >= 0, "warmupSteps", warmupSteps);
        require(gradClip >= 0 && Double.isFinite(gradClip), "gradClip", gradClip);
    }

    private static void require(boolean ok, String option, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("trainer option " + option + " = " + value + " is out of range");
        }
    }

    /** The learning rate of a step (0-based), after warm-up. */
    public double lrAt(int step) {
        return warmupSteps == 0 ? lr : lr * Math.min(1.0, (step + 1.0) / warmupSteps);
    }

    /** A builder with the defaults: batch 64, lr 1e-3, weight decay 0.01, betas (0.9, 0.999), eps 1e-8. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link TrainerOptions}. */
    public static final class Builder {
        private int steps = 1000;
        private int batchSize = 64;
        private double lr = 1e-3;
        private double weightDecay = 0.01;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private int warmupSteps;
        private double gradClip;
        private long seed;

        private Builder() {}

        /** Number of optimiser steps (default 1000). */
        public Builder steps(int v) {
            steps = v;
            return this;
        }

        /** Sequences per step (default 64). */
        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        /** Peak learning rate (default 1e-3). */
        public Builder lr(double v) {
            lr = v;
            return this;
        }

        /** Decoupled weight decay of the {@code W_*} parameters (default 0.01, PyTorch's AdamW default). */
        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        /** AdamW's moment decays (default 0.9, 0.999). */
        public Builder betas(double b1, double b2) {
            beta1 = b1;
            beta2 = b2;
            return this;
        }

        /** AdamW's epsilon (default 1e-8). */
        public Builder eps(double v) {
            eps = v;
            return this;
        }

        /** Linear warm-up steps (default 0). */
        public Builder warmupSteps(int v) {
            warmupSteps = v;
            return this;
        }

        /** Clips the global gradient norm to this value (default 0 = off). */
        public Builder gradClip(double v) {
            gradClip = v;
            return this;
        }

        /** Seed of the batch generator (default 0). */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** Validates and builds. */
        public TrainerOptions build() {
            return new TrainerOptions(steps, batchSize, lr, weightDecay, beta1, beta2, eps, warmupSteps, gradClip,
                    seed);
        }
    }
}
