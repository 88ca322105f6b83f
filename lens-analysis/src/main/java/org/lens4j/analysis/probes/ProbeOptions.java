package org.lens4j.analysis.probes;

import java.util.Objects;

/**
 * How a probe is trained and evaluated. Immutable; build with {@link #builder()}.
 *
 * @param penalty the regularisation (default L2)
 * @param lambda its strength, per example: the loss is the mean cross-entropy plus the penalty, on
 *     standardised activations (default 1e-3)
 * @param maxSteps most optimisation steps (default 2000)
 * @param tolerance training stops when no standardised weight moves more than this in a step (default 1e-6)
 * @param testFraction fraction of the sequences held out for testing (default 0.25)
 * @param balance whether training and test sets are down-sampled to equal class sizes (default true)
 * @param seed seed of the split and of the balanced sampling (default 0)
 */
public record ProbeOptions(Penalty penalty, double lambda, int maxSteps, double tolerance, double testFraction,
        boolean balance, long seed) {

    /** The defaults. */
    public static final ProbeOptions DEFAULT = builder().build();

    /** Checks the values. */
    public ProbeOptions {
        Objects.requireNonNull(penalty, "penalty");
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("probe lambda must be finite and >= 0, not " + lambda);
        }
        if (maxSteps < 1) {
            throw new IllegalArgumentException("probe maxSteps must be at least 1, not " + maxSteps);
        }
        if (!(tolerance >= 0)) {
            throw new IllegalArgumentException("probe tolerance must be >= 0, not " + tolerance);
        }
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("probe test fraction must be in (0, 1), not " + testFraction);
        }
    }

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder().penalty(penalty).lambda(lambda).maxSteps(maxSteps).tolerance(tolerance)
                .testFraction(testFraction).balance(balance).seed(seed);
    }

    /** Builder for {@link ProbeOptions}. */
    public static final class Builder {
        private Penalty penalty = Penalty.L2;
        private double lambda = 1e-3;
        private int maxSteps = 2000;
        private double tolerance = 1e-6;
        private double testFraction = 0.25;
        private boolean balance = true;
        private long seed;

        private Builder() {}

        /** The regularisation. */
        public Builder penalty(Penalty v) {
            penalty = v;
            return this;
        }

        /** The regularisation strength. */
        public Builder lambda(double v) {
            lambda = v;
            return this;
        }

        /** The most optimisation steps. */
        public Builder maxSteps(int v) {
            maxSteps = v;
            return this;
        }

        /** The convergence tolerance on the standardised weights. */
        public Builder tolerance(double v) {
            tolerance = v;
            return this;
        }

        /** The fraction of sequences held out. */
        public Builder testFraction(double v) {
            testFraction = v;
            return this;
        }

        /** Whether to balance the classes. */
        public Builder balance(boolean v) {
            balance = v;
            return this;
        }

        /** The seed of the split and the sampling. */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** Validates and builds. */
        public ProbeOptions build() {
            return new ProbeOptions(penalty, lambda, maxSteps, tolerance, testFraction, balance, seed);
        }
    }
}
