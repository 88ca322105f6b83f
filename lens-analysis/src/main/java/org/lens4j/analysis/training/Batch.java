package org.lens4j.analysis.training;

import ai.djl.ndarray.NDArray;

/**
 * One training batch.
 *
 * @param tokens {@code [batch, pos]} int64 token ids
 * @param lossMask {@code [batch, pos - 1]} float32 weights of the next-token losses (1 where the prediction
 *     of {@code tokens[b, t + 1]} at position t counts, 0 where not); null = every position counts equally
 */
public record Batch(NDArray tokens, NDArray lossMask) implements AutoCloseable {

    /** Frees the arrays. */
    @Override
    public void close() {
        tokens.close();
        if (lossMask != null) {
            lossMask.close();
        }
    }
}
