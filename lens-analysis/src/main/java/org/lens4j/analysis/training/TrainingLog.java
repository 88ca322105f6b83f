package org.lens4j.analysis.training;

import java.util.Arrays;

/** The training loss of every step of a {@link Trainer} run. */
public final class TrainingLog {

    private final double[] losses;

    TrainingLog(double[] losses) {
        this.losses = losses.clone();
    }

    /** The loss of each step (a copy). */
    public double[] losses() {
        return losses.clone();
    }

    /** The number of steps. */
    public int steps() {
        return losses.length;
    }

    /** The mean loss of the first {@code n} steps (fewer if the run was shorter). */
    public double meanOfFirst(int n) {
        return Arrays.stream(losses, 0, Math.min(n, losses.length)).average().orElse(Double.NaN);
    }

    /** The mean loss of the last {@code n} steps (fewer if the run was shorter). */
    public double meanOfLast(int n) {
        return Arrays.stream(losses, Math.max(0, losses.length - n), losses.length).average().orElse(Double.NaN);
    }
}
