package org.lens4j.core;

/** What a forward pass returns, as TransformerLens's {@code return_type}. */
public enum ReturnType {
    /** Logits {@code [batch, pos, d_vocab_out]}. */
    LOGITS,
    /** The next-token cross-entropy loss (mean, or per token). */
    LOSS,
    /** Logits and loss. */
    BOTH,
    /** Nothing: the unembedding is skipped (hooks still fire). */
    NONE
}
