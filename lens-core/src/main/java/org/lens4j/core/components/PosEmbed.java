package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * Learned absolute positional embedding, {@code W_pos [n_ctx, d_model]}.
 *
 * <p>Without an attention mask, position p gets row p. With a mask (padded batches), positions count
 * only real tokens ({@code cumsum(mask) - 1}, clamped at 0), so the first real token of a left-padded
 * row is position 0, and padding positions get a zero vector, as in TransformerLens.
 */
public final class PosEmbed {

    private final NDArray wPos;

    /** @param wPos {@code [n_ctx, d_model]} */
    public PosEmbed(NDArray wPos) {
        this.wPos = wPos;
    }

    /**
     * @param batch the batch size
     * @param pos the number of positions
     * @param attentionMask {@code [batch, pos]} (1 = real token), or null
     * @return a fresh {@code [batch, pos, d_model]} array
     */
    public NDArray forward(long batch, long pos, NDArray attentionMask) {
        if (attentionMask == null) {
            NDArray rows = wPos.get(new NDIndex("0:{}", pos));
            return rows.expandDims(0).repeat(0, batch);
        }
        NDArray mask = attentionMask.toType(DataType.INT64, false);
        NDArray positions = mask.cumSum(1).sub(1).maximum(0);
        NDArray embedded = wPos.get(new NDIndex("{}", positions));
        return embedded.mul(mask.expandDims(-1).toType(wPos.getDataType(), false));
    }
}
