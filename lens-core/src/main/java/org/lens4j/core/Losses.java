package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/** Language-model losses, as TransformerLens's {@code lm_cross_entropy_loss}. */
public final class Losses {

    private Losses() {}

    /**
     * Next-token cross entropy: {@code -log_softmax(logits)[b, t, tokens[b, t + 1]]} for t below the last
     * position. With an attention mask, only pairs where both positions are real tokens count (the mean
     * divides by their number).
     *
     * @param logits {@code [batch, pos, d_vocab_out]}
     * @param tokens {@code [batch, pos]} int64
     * @param attentionMask {@code [batch, pos]} boolean, or null
     * @param perToken return {@code [batch, pos - 1]} instead of the mean
     * @return a scalar, or {@code [batch, pos - 1]}
     */
    public static NDArray crossEntropy(NDArray logits, NDArray tokens, NDArray attentionMask, boolean perToken) {
        NDArray logProbs = logits.logSoftmax(-1).get(new NDIndex(":, :-1, :"));
        NDArray next = tokens.get(new NDIndex(":, 1:")).expandDims(-1);
        NDArray correct = logProbs.gather(next, -1).squeeze(-1);
        if (attentionMask != null) {
            NDArray pairs = attentionMask.get(new NDIndex(":, :-1")).logicalAnd(attentionMask.get(new NDIndex(":, 1:")))
                    .toType(correct.getDataType(), false);
            correct = correct.mul(pairs);
            return perToken ? correct.neg() : correct.sum().neg().div(pairs.sum());
        }
        return perToken ? correct.neg() : correct.mean().neg();
    }
}
