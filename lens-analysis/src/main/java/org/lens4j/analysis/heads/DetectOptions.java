package org.lens4j.analysis.heads;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lens4j.core.ActivationCache;

/**
 * The optional arguments of {@link HeadDetector#detectHead}, TransformerLens's {@code heads}, {@code cache},
 * {@code exclude_bos}, {@code exclude_current_token} and {@code error_measure}. Immutable; build with
 * {@link #builder()}.
 *
 * @param heads the heads to score (the others get -1), or null for all
 * @param cache activations of this very sequence to read the patterns from, or null to run the model;
 *     it must hold {@code blocks.{l}.attn.hook_pattern} for the scored layers, with a batch of one or no
 *     batch axis
 * @param excludeBos ignore attention to position 0
 * @param excludeCurrentToken ignore attention of each position to itself
 * @param errorMeasure how patterns are compared
 */
public record DetectOptions(List<LayerHead> heads, ActivationCache cache, boolean excludeBos,
        boolean excludeCurrentToken, ErrorMeasure errorMeasure) {

    /** TransformerLens's defaults: every head, "mul", nothing excluded. */
    public static final DetectOptions DEFAULT = builder().build();

    /** Copies the head list. */
    public DetectOptions {
        heads = heads == null ? null : List.copyOf(heads);
        if (errorMeasure == null) {
            throw new IllegalArgumentException("errorMeasure must not be null");
        }
    }

    /** Whether every option is at TransformerLens's default. */
    public boolean isDefault() {
        return heads == null && cache == null && !excludeBos && !excludeCurrentToken && errorMeasure == ErrorMeasure.MUL;
    }

    /** A builder with TransformerLens's defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link DetectOptions}. */
    public static final class Builder {
        private List<LayerHead> heads;
        private ActivationCache cache;
        private boolean excludeBos;
        private boolean excludeCurrentToken;
        private ErrorMeasure errorMeasure = ErrorMeasure.MUL;

        private Builder() {}

        /** Scores only these heads (TransformerLens's list of {@code (layer, head)}). */
        public Builder heads(List<LayerHead> v) {
            heads = v;
            return this;
        }

        /** Scores only these heads (TransformerLens's {@code {layer: [heads]}}). */
        public Builder heads(Map<Integer, List<Integer>> byLayer) {
            List<LayerHead> list = new ArrayList<>();
            byLayer.forEach((layer, hs) -> hs.forEach(h -> list.add(new LayerHead(layer, h))));
            heads = list;
            return this;
        }

        /** Reads the patterns from this cache instead of running the model. */
        public Builder cache(ActivationCache v) {
            cache = v;
            return this;
        }

        /** Ignores attention to position 0 (default false). */
        public Builder excludeBos(boolean v) {
            excludeBos = v;
            return this;
        }

        /** Ignores attention of a position to itself (default false). */
        public Builder excludeCurrentToken(boolean v) {
            excludeCurrentToken = v;
            return this;
        }

        /** The error measure (default {@link ErrorMeasure#MUL}). */
        public Builder errorMeasure(ErrorMeasure v) {
            errorMeasure = v;
            return this;
        }

        /** Builds. */
        public DetectOptions build() {
            return new DetectOptions(heads, cache, excludeBos, excludeCurrentToken, errorMeasure);
        }
    }
}
