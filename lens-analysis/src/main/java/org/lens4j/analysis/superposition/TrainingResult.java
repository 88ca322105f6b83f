package org.lens4j.analysis.superposition;

import java.time.Duration;

/**
 * The outcome of {@link ToyModelTrainer#train}.
 *
 * @param finalLoss each instance's loss after training, measured on fresh batches, {@code
 *     [instances]}
 * @param steps optimiser steps taken
 * @param elapsed wall-clock time of the optimisation (the final measurement excluded)
 */
public record TrainingResult(float[] finalLoss, int steps, Duration elapsed) {
}
