package org.lens4j.analysis.superposition;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The three toy models of Elhage et al. 2022, "Toy Models of Superposition".
 *
 * <p>Each kind fixes the forward pass, the range of the feature values and the target the model
 * is trained to reproduce.
 */
public enum ToyModelKind {
    /** {@code h = W x}, {@code x' = ReLU(Wᵀ h + b)}; features uniform in [0, 1], target x. */
    RELU_OUTPUT("relu-output"),
    /** {@code h = ReLU(W x)}, {@code x' = ReLU(Wᵀ h + b)}: a privileged hidden basis; target x. */
    HIDDEN_RELU("hidden-relu"),
    /**
     * {@code h = ReLU(W1 x)}, {@code y = ReLU(W2 h + b)}; features uniform in [-1, 1], target
     * {@code abs(x)}: the model has to compute, not just store.
     */
    NEURON_COMPUTATION("neuron-computation");

    private final String id;

    ToyModelKind(String id) {
        this.id = id;
    }

    /** The name used in configuration files and CSV output, e.g. {@code relu-output}. */
    public String id() {
        return id;
    }

    /** Whether feature values are drawn from [-1, 1] (true) or [0, 1] (false). */
    public boolean signedFeatures() {
        return this == NEURON_COMPUTATION;
    }

    /**
     * Looks a kind up by its {@link #id()}.
     *
     * @throws IllegalArgumentException naming the unknown id and the valid ones
     */
    public static ToyModelKind fromId(String id) {
        for (ToyModelKind kind : values()) {
            if (kind.id.equals(id.toLowerCase(Locale.ROOT))) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown toy model '" + id + "'; valid models: "
                + Arrays.stream(values()).map(ToyModelKind::id).collect(Collectors.joining(", ")));
    }
}
