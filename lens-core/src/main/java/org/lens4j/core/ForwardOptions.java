package org.lens4j.core;

import ai.djl.ndarray.NDArray;

/**
 * Options of a forward pass, the keyword arguments of TransformerLens's {@code forward}. Immutable;
 * build with {@link #builder()}.
 *
 * @param returnType what to compute (default logits)
 * @param lossPerToken per-token loss {@code [batch, pos - 1]} instead of the mean
 * @param startAtLayer first block to run (inclusive, negative counts from the end); the input is then
 *     the residual stream {@code [batch, pos, d_model]}; null = from the embeddings
 * @param stopAtLayer block to stop before (exclusive, negative counts from the end); the residual
 *     stream is returned; null = run to the end
 * @param attentionMask {@code [batch, pos]} (1 = real token, 0 = padding), or null
 * @param tokens the tokens {@code [batch, pos]}, needed for the loss when starting from a residual
 * @param shortformerPosEmbed positional embeddings for shortformer models when starting from a residual
 */
public record ForwardOptions(ReturnType returnType, boolean lossPerToken, Integer startAtLayer,
        Integer stopAtLayer, NDArray attentionMask, NDArray tokens, NDArray shortformerPosEmbed) {

    /** Logits from the embeddings to the unembedding. */
    public static final ForwardOptions DEFAULT = builder().build();

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.returnType = returnType;
        b.lossPerToken = lossPerToken;
        b.startAtLayer = startAtLayer;
        b.stopAtLayer = stopAtLayer;
        b.attentionMask = attentionMask;
        b.tokens = tokens;
        b.shortformerPosEmbed = shortformerPosEmbed;
        return b;
    }

    /** Builder for {@link ForwardOptions}. */
    public static final class Builder {
        private ReturnType returnType = ReturnType.LOGITS;
        private boolean lossPerToken;
        private Integer startAtLayer;
        private Integer stopAtLayer;
        private NDArray attentionMask;
        private NDArray tokens;
        private NDArray shortformerPosEmbed;

        private Builder() {}

        /** Sets the return type. */
        public Builder returnType(ReturnType v) {
            returnType = v;
            return this;
        }

        /** Returns the per-token loss instead of the mean. */
        public Builder lossPerToken(boolean v) {
            lossPerToken = v;
            return this;
        }

        /** Starts at this block; the input is then a residual stream. */
        public Builder startAtLayer(Integer v) {
            startAtLayer = v;
            return this;
        }

        /** Stops before this block and returns the residual stream. */
        public Builder stopAtLayer(Integer v) {
            stopAtLayer = v;
            return this;
        }

        /** The attention mask {@code [batch, pos]} of a padded batch. */
        public Builder attentionMask(NDArray v) {
            attentionMask = v;
            return this;
        }

        /** The tokens, for the loss when the input is a residual stream. */
        public Builder tokens(NDArray v) {
            tokens = v;
            return this;
        }

        /** Shortformer positional embeddings, when the input is a residual stream. */
        public Builder shortformerPosEmbed(NDArray v) {
            shortformerPosEmbed = v;
            return this;
        }

        /** The options. */
        public ForwardOptions build() {
            return new ForwardOptions(returnType, lossPerToken, startAtLayer, stopAtLayer, attentionMask, tokens,
                    shortformerPosEmbed);
        }
    }
}
