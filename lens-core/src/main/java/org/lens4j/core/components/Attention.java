package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import org.lens4j.core.HookPoint;

/**
 * Multi-head attention, TransformerLens's {@code Attention}: for each head h,
 * {@code q = x_q @ W_Q[h] + b_Q[h]} (likewise k and v), {@code scores = q k^T / attn_scale} with
 * disallowed entries set to {@code -inf}, {@code pattern = softmax(scores)} (fully masked rows become
 * 0), {@code z = pattern v}, and {@code out = sum_h z_h @ W_O[h] + b_O}.
 *
 * <p>Weights: {@code W_Q, W_K, W_V [n_heads, d_model, d_head]}, {@code W_O [n_heads, d_head, d_model]},
 * {@code b_Q, b_K, b_V [n_heads, d_head]}, {@code b_O [d_model]}. The projections run as one matrix
 * product over all heads, with the weights rearranged to {@code [d_model, n_heads * d_head]} (head-major
 * columns) on each call, so edits to the weights and gradients through them behave as expected; when
 * query, key and value read the same input, Q, K and V share a single product.
 */
public final class Attention {

    private final int nHeads;
    private final int dHead;
    private final double scale;
    private final NDArray wQ;
    private final NDArray wK;
    private final NDArray wV;
    private final NDArray wO;
    private final NDArray bQ;
    private final NDArray bK;
    private final NDArray bV;
    private final NDArray bO;
    private final HookPoint hookQ;
    private final HookPoint hookK;
    private final HookPoint hookV;
    private final HookPoint hookAttnScores;
    private final HookPoint hookPattern;
    private final HookPoint hookZ;
    private final HookPoint hookResult;

    /**
     * @param scale the divisor of the scores (attn_scale, times layer+1 if configured)
     * @param hooks {@code hook_q, hook_k, hook_v, hook_attn_scores, hook_pattern, hook_z, hook_result}
     */
    public Attention(NDArray wQ, NDArray wK, NDArray wV, NDArray wO, NDArray bQ, NDArray bK, NDArray bV,
            NDArray bO, double scale, HookPoint... hooks) {
        Shape s = wQ.getShape();
        this.nHeads = (int) s.get(0);
        this.dHead = (int) s.get(2);
        this.scale = scale;
        this.wQ = wQ;
        this.wK = wK;
        this.wV = wV;
        this.wO = wO;
        this.bQ = bQ;
        this.bK = bK;
        this.bV = bV;
        this.bO = bO;
        this.hookQ = hooks[0];
        this.hookK = hooks[1];
        this.hookV = hooks[2];
        this.hookAttnScores = hooks[3];
        this.hookPattern = hooks[4];
        this.hookZ = hooks[5];
        this.hookResult = hooks[6];
    }

    /** {@code [n_heads, d_model, d_head]} to {@code [d_model, n_heads * d_head]}. */
    private static NDArray fuse(NDArray w) {
        Shape s = w.getShape();
        return w.transpose(1, 0, 2).reshape(s.get(1), s.get(0) * s.get(2));
    }

    /**
     * @param queryInput {@code [batch, pos, d_model]}, or {@code [batch, pos, n_heads, d_model]} with split inputs
     * @param keyInput same shape as the query input
     * @param valueInput same shape as the query input
     * @param maskBias {@code [batch or 1, 1, q_pos, k_pos]}: 0 where a query may attend to a key, {@code -inf}
     *     elsewhere; null for unmasked (bidirectional, unpadded) attention
     * @param maskCanEmptyRows whether some query row may have no allowed key (left padding)
     * @param useAttnResult whether to compute the per-head result and fire {@code hook_result}
     * @return {@code [batch, pos, d_model]}, including {@code b_O}
     */
    public NDArray forward(NDArray queryInput, NDArray keyInput, NDArray valueInput, NDArray maskBias,
            boolean maskCanEmptyRows, boolean useAttnResult) {
        NDArray q;
        NDArray k;
        NDArray v;
        if (queryInput == keyInput && keyInput == valueInput && queryInput.getShape().dimension() == 3) {
            Shape xs = queryInput.getShape();
            NDArray w = NDArrays.concat(new NDList(fuse(wQ), fuse(wK), fuse(wV)), 1);
            NDArray b = NDArrays.concat(new NDList(bQ.flatten(), bK.flatten(), bV.flatten()));
            NDArray qkv = queryInput.matMul(w).add(b).reshape(xs.get(0), xs.get(1), 3, nHeads, dHead);
            q = hookQ.fire(qkv.get(new NDIndex(":, :, 0")));
            k = hookK.fire(qkv.get(new NDIndex(":, :, 1")));
            v = hookV.fire(qkv.get(new NDIndex(":, :, 2")));
        } else {
            q = hookQ.fire(project(queryInput, wQ, bQ));
            k = hookK.fire(project(keyInput, wK, bK));
            v = hookV.fire(project(valueInput, wV, bV));
        }

        // [batch, head, q_pos, d_head] x [batch, head, d_head, k_pos]
        NDArray scores = q.transpose(0, 2, 1, 3).matMul(k.transpose(0, 2, 3, 1))
                .div(Scalars.of(q, scale));
        if (maskBias != null) {
            // Adding 0 or -inf sets disallowed scores to exactly -inf and leaves the others unchanged.
            scores = scores.add(maskBias);
        }
        scores = hookAttnScores.fire(scores);
        NDArray pattern = scores.softmax(-1);
        if (maskCanEmptyRows) {
            // A query with no allowed key gives 0/0; TransformerLens sets those rows to 0.
            NDArray zero = pattern.zerosLike();
            pattern = NDArrays.where(pattern.isNaN(), zero, pattern);
        }
        pattern = hookPattern.fire(pattern);
        // [batch, head, q_pos, k_pos] x [batch, head, k_pos, d_head] -> [batch, pos, head, d_head]
        NDArray z = hookZ.fire(pattern.matMul(v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3));

        if (useAttnResult) {
            // [batch, head, pos, d_head] x [head, d_head, d_model] -> [batch, pos, head, d_model]
            NDArray result = hookResult.fire(z.transpose(0, 2, 1, 3).matMul(wO).transpose(0, 2, 1, 3));
            return result.sum(new int[] {2}).add(bO);
        }
        Shape zs = z.getShape();
        // W_O is flattened on each call, like W_Q/W_K/W_V: a view taken once at construction would not
        // carry gradients to W_O once it starts requiring them.
        NDArray wOFlat = wO.reshape((long) nHeads * dHead, wO.getShape().get(2));
        return z.reshape(zs.get(0), zs.get(1), (long) nHeads * dHead).matMul(wOFlat).add(bO);
    }

    /** {@code x @ W + b} per head: {@code [batch, pos, d_model]} or split {@code [batch, pos, head, d_model]}. */
    private NDArray project(NDArray x, NDArray w, NDArray b) {
        Shape xs = x.getShape();
        if (xs.dimension() == 4) {
            // einsum bphd,hde->bphe as a batched product over heads
            return x.transpose(0, 2, 1, 3).matMul(w).transpose(0, 2, 1, 3).add(b);
        }
        return x.matMul(fuse(w)).reshape(xs.get(0), xs.get(1), nHeads, dHead).add(b);
    }
}
