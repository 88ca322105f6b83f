package org.lens4j.core.tokens;

import java.util.Objects;

/**
 * Tokens of a padded batch plus its attention mask (1 = real token, 0 = padding), following
 * TransformerLens's {@code utils.get_attention_mask} rules (see {@link Tokenizer#getAttentionMask}).
 *
 * <p>The arrays are shared, not copied: treat them as read-only.
 *
 * @param tokens token ids {@code [batch, pos]}, every row of the same length
 * @param attentionMask {@code [batch, pos]}, 1 where a position is attended to, 0 for padding
 */
public record TokenBatch(long[][] tokens, long[][] attentionMask) {

    /**
     * Checks that both arrays are rectangular and of the same shape.
     *
     * @param tokens token ids {@code [batch, pos]}
     * @param attentionMask the mask {@code [batch, pos]}
     * @throws IllegalArgumentException if the shapes differ or a row has another length
     */
    public TokenBatch {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(attentionMask, "attentionMask");
        if (tokens.length != attentionMask.length) {
            throw new IllegalArgumentException("tokens has " + tokens.length + " rows but attentionMask has "
                    + attentionMask.length);
        }
        int pos = tokens.length == 0 ? 0 : tokens[0].length;
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b].length != pos || attentionMask[b].length != pos) {
                throw new IllegalArgumentException("row " + b + " of tokens / attentionMask has length "
                        + tokens[b].length + " / " + attentionMask[b].length + ", expected " + pos);
            }
        }
    }

    /** @return the number of rows, {@code batch} */
    public int batchSize() {
        return tokens.length;
    }

    /** @return the padded length of every row, {@code pos} */
    public int length() {
        return tokens.length == 0 ? 0 : tokens[0].length;
    }
}
