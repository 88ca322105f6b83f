package org.lens4j.analysis.superposition;

import java.time.Duration;

/**
 * The result of {@link ToyModelTrainer#trainBestOf}: for every instance of the requested
 * configuration, the lowest-loss of its restarts. Owns the kept model; close it when done.
 */
public final class BestOfN implements AutoCloseable {
    private final ToyModel model;
    private final int[] chosenRestart;
    private final float[][] restartLoss;
    private final Duration elapsed;

    BestOfN(ToyModel model, int[] chosenRestart, float[][] restartLoss, Duration elapsed) {
        this.model = model;
        this.chosenRestart = chosenRestart;
        this.restartLoss = restartLoss;
        this.elapsed = elapsed;
    }

    /** The kept instances, one per instance of the requested configuration. */
    public ToyModel model() {
        return model;
    }

    /** Which restart was kept for each instance, {@code [instances]}. */
    public int[] chosenRestart() {
        return chosenRestart.clone();
    }

    /** The final loss of every restart, {@code [instances, restarts]}. */
    public float[][] restartLoss() {
        float[][] copy = new float[restartLoss.length][];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = restartLoss[i].clone();
        }
        return copy;
    }

    /** The final loss of each kept instance, {@code [instances]}. */
    public float[] loss() {
        float[] loss = new float[restartLoss.length];
        for (int i = 0; i < loss.length; i++) {
            loss[i] = restartLoss[i][chosenRestart[i]];
        }
        return loss;
    }

    /** Wall-clock time of the whole training run, all restarts together. */
    public Duration elapsed() {
        return elapsed;
    }

    /** Closes the kept model. */
    @Override
    public void close() {
        model.close();
    }
}
