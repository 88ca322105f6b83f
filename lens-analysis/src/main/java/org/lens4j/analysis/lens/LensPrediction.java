package org.lens4j.analysis.lens;

import java.util.Arrays;
import org.lens4j.analysis.TopK;

/**
 * What the logit lens reads at one layer for one batch element: the top tokens with their probabilities
 * (softmax over the lens logits) and, when a target was given, the target's rank (how many tokens have a
 * strictly higher logit: 0 means it is the top prediction), probability and logit.
 *
 * @param layer the accumulated-residual label ({@code "0_pre"}, ..., {@code "final_post"})
 * @param batch the batch element
 * @param topTokens the top-k token ids, most likely first
 * @param topProbs their probabilities
 * @param target the target token, or -1 when none was given
 * @param targetRank the target's rank, or -1
 * @param targetProb the target's probability, or NaN
 * @param targetLogit the target's lens logit, or NaN
 */
public record LensPrediction(String layer, int batch, long[] topTokens, double[] topProbs, long target, int targetRank,
        double targetProb, double targetLogit) {

    /** Reads one row of lens logits. */
    static LensPrediction of(String layer, int batch, double[] logits, int k, long target) {
        double max = Arrays.stream(logits).max().orElseThrow();
        double z = 0;
        for (double l : logits) {
            z += Math.exp(l - max);
        }
        double norm = z;
        long[] top = TopK.largest(logits, k);
        double[] probs = Arrays.stream(top).mapToDouble(t -> Math.exp(logits[(int) t] - max) / norm).toArray();
        if (target < 0) {
            return new LensPrediction(layer, batch, top, probs, -1, -1, Double.NaN, Double.NaN);
        }
        double t = logits[(int) target];
        int rank = (int) Arrays.stream(logits).filter(l -> l > t).count();
        return new LensPrediction(layer, batch, top, probs, target, rank, Math.exp(t - max) / norm, t);
    }

    /** Whether a target was given. */
    public boolean hasTarget() {
        return target >= 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LensPrediction p && layer.equals(p.layer) && batch == p.batch
                && Arrays.equals(topTokens, p.topTokens) && Arrays.equals(topProbs, p.topProbs) && target == p.target
                && targetRank == p.targetRank && Double.compare(targetProb, p.targetProb) == 0
                && Double.compare(targetLogit, p.targetLogit) == 0;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * layer.hashCode() + batch) + Arrays.hashCode(topTokens);
    }

    @Override
    public String toString() {
        return "LensPrediction(" + layer + ", batch " + batch + ", top " + Arrays.toString(topTokens)
                + (hasTarget() ? ", target " + target + " rank " + targetRank + " p=" + targetProb : "") + ")";
    }
}
