package org.lens4j.analysis.superposition;

/**
 * How {@link ToyModelTrainer} trains: number of steps, batch size, Adam's base learning rate and
 * its schedule, the data seed, and how many batches measure the final loss.
 *
 * <p>The defaults follow ARENA 1.4 (10,000 steps of batch 1024 at learning rate 1e-3) with a
 * 5% warm-up and cosine decay. Instances are immutable.
 */
public final class TrainingOptions {
    private final int steps;
    private final int batchSize;
    private final double learningRate;
    private final LearningRateSchedule schedule;
    private final long seed;
    private final int evaluationBatches;
    private final int threads;

    private TrainingOptions(Builder b) {
        this.steps = b.steps;
        this.batchSize = b.batchSize;
        this.learningRate = b.learningRate;
        this.schedule = b.schedule;
        this.seed = b.seed;
        this.evaluationBatches = b.evaluationBatches;
        this.threads = b.threads;
    }

    /** The default options. */
    public static TrainingOptions defaults() {
        return builder().build();
    }

    /** Starts from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Number of optimiser steps. */
    public int steps() {
        return steps;
    }

    /** Samples per step. */
    public int batchSize() {
        return batchSize;
    }

    /** Adam's base learning rate, scaled each step by the {@link #schedule()}. */
    public double learningRate() {
        return learningRate;
    }

    /** The learning-rate schedule. */
    public LearningRateSchedule schedule() {
        return schedule;
    }

    /** Seeds the training data (and, in {@link ToyModelTrainer#trainBestOf}, the weights). */
    public long seed() {
        return seed;
    }

    /** Number of fresh batches over which the final loss of each instance is measured. */
    public int evaluationBatches() {
        return evaluationBatches;
    }

    /**
     * PyTorch intra-op threads of the training thread while it trains (restored afterwards).
     * Default 1: the toy models' tensors are too small to gain from more.
     */
    public int threads() {
        return threads;
    }

    /** Builds {@link TrainingOptions}; values are checked as they are set. */
    public static final class Builder {
        private int steps = 10_000;
        private int batchSize = 1024;
        private double learningRate = 1e-3;
        private LearningRateSchedule schedule = LearningRateSchedule.warmupCosine(0.05);
        private long seed;
        private int evaluationBatches = 10;
        private int threads = 1;

        private Builder() {
        }

        /** Number of optimiser steps (default 10,000). */
        public Builder steps(int steps) {
            this.steps = atLeastOne("steps", steps);
            return this;
        }

        /** Samples per step (default 1024). */
        public Builder batchSize(int batchSize) {
            this.batchSize = atLeastOne("batchSize", batchSize);
            return this;
        }

        /** Adam's base learning rate (default 1e-3). */
        public Builder learningRate(double learningRate) {
            if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException(
                        "learningRate must be a finite value > 0, got " + learningRate);
            }
            this.learningRate = learningRate;
            return this;
        }

        /** The learning-rate schedule (default 5% warm-up, then cosine decay). */
        public Builder schedule(LearningRateSchedule schedule) {
            if (schedule == null) {
                throw new IllegalArgumentException("schedule must not be null");
            }
            this.schedule = schedule;
            return this;
        }

        /** Random seed (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Batches used to measure the final loss (default 10). */
        public Builder evaluationBatches(int batches) {
            this.evaluationBatches = atLeastOne("evaluationBatches", batches);
            return this;
        }

        /** PyTorch intra-op threads while training (default 1). */
        public Builder threads(int threads) {
            this.threads = atLeastOne("threads", threads);
            return this;
        }

        /** The options. */
        public TrainingOptions build() {
            return new TrainingOptions(this);
        }

        private static int atLeastOne(String name, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(name + " must be at least 1, got " + value);
            }
            return value;
        }
    }
}
