package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;

/** Unembedding: {@code logits = resid @ W_U + b_U}, {@code W_U [d_model, d_vocab_out]}, {@code b_U [d_vocab_out]}. */
public final class Unembed {

    private final NDArray wU;
    private final NDArray bU;

    /**
     * @param wU {@code [d_model, d_vocab_out]}
     * @param bU {@code [d_vocab_out]}
     */
    public Unembed(NDArray wU, NDArray bU) {
        this.wU = wU;
        this.bU = bU;
    }

    /**
     * @param resid {@code [..., d_model]}
     * @return logits {@code [..., d_vocab_out]}
     */
    public NDArray forward(NDArray resid) {
        return resid.matMul(wU).add(bU);
    }
}
