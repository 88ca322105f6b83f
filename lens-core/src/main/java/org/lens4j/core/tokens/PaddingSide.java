package org.lens4j.core.tokens;

/**
 * Which end of a sequence receives pad tokens when a batch of texts of different lengths is
 * tokenised (TransformerLens's {@code padding_side}, {@code "right"} by default).
 */
public enum PaddingSide {
    /** Pad before the text: the last position of every row holds a real token. */
    LEFT,
    /** Pad after the text: row {@code i} starts at position 0 (TransformerLens's default). */
    RIGHT
}
