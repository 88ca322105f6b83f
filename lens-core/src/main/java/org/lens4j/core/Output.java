package org.lens4j.core;

import ai.djl.ndarray.NDArray;

/**
 * What a forward pass returned. Arrays that were not computed are null. The arrays belong to the
 * manager of the input; {@link #close()} frees them early.
 *
 * @param logits {@code [batch, pos, d_vocab_out]}
 * @param loss a scalar (mean loss) or {@code [batch, pos - 1]} (per token)
 * @param residual {@code [batch, pos, d_model]} when the pass stopped early ({@code stopAtLayer})
 */
public record Output(NDArray logits, NDArray loss, NDArray residual) implements AutoCloseable {

    @Override
    public void close() {
        for (NDArray a : new NDArray[] {logits, loss, residual}) {
            if (a != null) {
                a.close();
            }
        }
    }
}
