package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Objects;

/**
 * TransformerLens's {@code HookedTransformer.all_composition_scores(mode)}: for every pair of
 * attention heads, how strongly the later head reads (through its queries, keys or values) what
 * the earlier head writes (Elhage et al., "A Mathematical Framework for Transformer Circuits").
 * The score of a pair is {@link FactoredMatrix#compositionScore} of the left head's OV circuit and
 * the right head's QK circuit (Q-composition), transposed QK circuit (K) or OV circuit (V).
 */
public final class CompositionScores {

    /** Which input of the later head reads the earlier head's output. */
    public enum Mode {
        /** Queries: right = {@code QK}. */
        Q,
        /** Keys: right = {@code QK^T}. */
        K,
        /** Values: right = {@code OV}. */
        V;

        /**
         * Parses TransformerLens's mode strings {@code "Q"}, {@code "K"}, {@code "V"}.
         *
         * @param mode the mode name
         * @return the mode
         * @throws IllegalArgumentException for any other string
         */
        public static Mode of(String mode) {
            for (Mode m : values()) {
                if (m.name().equals(mode)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("mode must be one of " + Arrays.toString(values())
                    + " not '" + mode + "'");
        }
    }

    private CompositionScores() {}

    /**
     * Computes the composition scores of all head pairs.
     *
     * @param ov the OV circuits {@code [n_layers, n_heads, d_model, d_model]}, e.g.
     *     {@link FactoredMatrix#ov}
     * @param qk the QK circuits {@code [n_layers, n_heads, d_model, d_model]}, e.g.
     *     {@link FactoredMatrix#qk}
     * @param mode which input of the later head to score
     * @return scores {@code [n_layers, n_heads, n_layers, n_heads]} indexed by (left layer, left
     *     head, right layer, right head), 0 unless {@code left layer < right layer}; owned by {@code ov}
     * @throws IllegalArgumentException if the circuits are not both
     *     {@code [L, H, d_model, d_model]} with the same L, H and d_model
     */
    public static NDArray all(FactoredMatrix ov, FactoredMatrix qk, Mode mode) {
        Shape shape = ov.shape();
        if (shape.dimension() != 4 || !shape.equals(qk.shape()) || shape.get(2) != shape.get(3)) {
            throw new IllegalArgumentException("composition scores need OV and QK circuits of shape"
                    + " [n_layers, n_heads, d_model, d_model], got OV " + ov + ", QK " + qk);
        }
        FactoredMatrix right = switch (Objects.requireNonNull(mode, "mode")) {
            case Q -> qk;
            case K -> qk.transpose();
            case V -> ov;
        };
        try (NDArray scores = FactoredMatrix.compositionScore(ov, right, true)) {
            return Scopes.run(() -> {
                // Only a later head can read an earlier head's output.
                NDArray layers = ov.getManager().arange((int) shape.get(0));
                NDArray earlier = layers.reshape(-1, 1, 1, 1).lt(layers.reshape(1, 1, -1, 1));
                NDArray masked = NDArrays.where(earlier.broadcast(scores.getShape()), scores,
                        scores.zerosLike());
                return Scopes.keep(masked, ov.getManager());
            });
        } finally {
            if (mode == Mode.K) {
                right.close();
            }
        }
    }

    /**
     * {@link #all(FactoredMatrix, FactoredMatrix, Mode)} with TransformerLens's mode string.
     *
     * @param ov the OV circuits {@code [n_layers, n_heads, d_model, d_model]}
     * @param qk the QK circuits {@code [n_layers, n_heads, d_model, d_model]}
     * @param mode {@code "Q"}, {@code "K"} or {@code "V"}
     * @return scores {@code [n_layers, n_heads, n_layers, n_heads]}, owned by {@code ov}
     * @throws IllegalArgumentException for an unknown mode
     */
    public static NDArray all(FactoredMatrix ov, FactoredMatrix qk, String mode) {
        return all(ov, qk, Mode.of(mode));
    }
}
