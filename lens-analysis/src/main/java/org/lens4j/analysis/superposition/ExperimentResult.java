package org.lens4j.analysis.superposition;

import java.time.Duration;
import java.util.List;

/**
 * What {@link SuperpositionExperiment#run()} measured, as plain Java data (no native memory).
 *
 * @param experiment the experiment that was run
 * @param geometry the feature geometry of the kept instances' {@link ToyModel#W()}
 * @param loss the final loss of each kept instance, {@code [instances]}
 * @param chosenRestart which restart was kept for each instance, {@code [instances]}
 * @param elapsed wall-clock training time of the whole experiment, all restarts together
 * @param antipodalPairs for the neuron-computation model, its antipodal neuron pairs (cosine
 *     below {@link AntipodalPair#DEFAULT_MAX_COSINE}); empty for the other models
 */
public record ExperimentResult(SuperpositionExperiment experiment, FeatureGeometry geometry,
        float[] loss, int[] chosenRestart, Duration elapsed, List<AntipodalPair> antipodalPairs) {
}
