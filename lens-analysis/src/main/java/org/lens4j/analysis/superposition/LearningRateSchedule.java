package org.lens4j.analysis.superposition;

/**
 * Scales the base learning rate over training: {@code lr(step) = lr * factor(step, steps)}.
 *
 * <p>The factories cover ARENA's schedules ({@link #constant()}, {@link #linearDecay()},
 * {@link #cosineDecay()}) and the warm-up then cosine decay used for the standard settings
 * ({@link #warmupCosine(double)}).
 */
@FunctionalInterface
public interface LearningRateSchedule {

    /**
     * The factor for one step.
     *
     * @param step the current step, {@code 0 <= step < steps}
     * @param steps the total number of steps
     */
    double factor(int step, int steps);

    /** Always 1. */
    static LearningRateSchedule constant() {
        return (step, steps) -> 1.0;
    }

    /** {@code 1 - step / steps}: from 1 down towards 0. */
    static LearningRateSchedule linearDecay() {
        return (step, steps) -> 1.0 - (double) step / steps;
    }

    /** ARENA's {@code cos(pi/2 * step / (steps - 1))}: from 1 at the first step to 0 at the last. */
    static LearningRateSchedule cosineDecay() {
        return (step, steps) -> steps <= 1 ? 1.0 : Math.cos(0.5 * Math.PI * step / (steps - 1));
    }

    /**
     * A linear warm-up over the first {@code warmupFraction} of the steps, from {@code 1/w} to 1
     * in {@code w} steps, then a half cosine from 1 down towards 0 over the remaining steps.
     *
     * @param warmupFraction in [0, 1)
     */
    static LearningRateSchedule warmupCosine(double warmupFraction) {
        if (!(warmupFraction >= 0 && warmupFraction < 1)) {
            throw new IllegalArgumentException(
                    "warm-up fraction must be in [0, 1), got " + warmupFraction);
        }
        return (step, steps) -> {
            int warmup = (int) Math.round(warmupFraction * steps);
            if (step < warmup) {
                return (step + 1.0) / warmup;
            }
            double progress = (double) (step - warmup) / (steps - warmup);
            return 0.5 * (1 + Math.cos(Math.PI * progress));
        };
    }
}
