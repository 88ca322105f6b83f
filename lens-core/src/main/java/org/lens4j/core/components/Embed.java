package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/** Token embedding: {@code W_E[tokens]}, with {@code W_E [d_vocab, d_model]}. */
public final class Embed {

    private final NDArray wE;

    /** @param wE {@code [d_vocab, d_model]} */
    public Embed(NDArray wE) {
        this.wE = wE;
    }

    /**
     * @param tokens {@code [batch, pos]} int64
     * @return {@code [batch, pos, d_model]}
     */
    public NDArray forward(NDArray tokens) {
        return wE.get(new NDIndex("{}", tokens));
    }
}
