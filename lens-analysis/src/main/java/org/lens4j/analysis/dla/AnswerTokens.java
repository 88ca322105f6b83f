package org.lens4j.analysis.dla;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.Arrays;
import org.lens4j.analysis.Doubles;
import org.lens4j.core.HookedTransformer;

/**
 * The logit an analysis explains: the logit of a correct token, or the logit difference between a correct
 * and an incorrect token (TransformerLens notebooks' {@code answer_tokens}), read at one position. One
 * token (pair) per batch element, or a single one shared by the whole batch.
 *
 * <pre>{@code
 * AnswerTokens ioi = AnswerTokens.difference(new long[] {mary, john}, new long[] {john, mary});
 * }</pre>
 */
public final class AnswerTokens {

    private final long[] correct;
    private final long[] incorrect;
    private final int position;

    private AnswerTokens(long[] correct, long[] incorrect, int position) {
        if (correct.length == 0) {
            throw new IllegalArgumentException("AnswerTokens needs at least one correct token");
        }
        if (incorrect != null && incorrect.length != correct.length) {
            throw new IllegalArgumentException("AnswerTokens: " + correct.length + " correct tokens but "
                    + incorrect.length + " incorrect tokens");
        }
        this.correct = correct.clone();
        this.incorrect = incorrect == null ? null : incorrect.clone();
        this.position = position;
    }

    /** The logit of {@code correct} (one per batch element, or one for all), at the last position. */
    public static AnswerTokens of(long... correct) {
        return new AnswerTokens(correct, null, -1);
    }

    /** The logit difference {@code correct - incorrect} (per batch element, or one pair for all), at the last position. */
    public static AnswerTokens difference(long[] correct, long[] incorrect) {
        return new AnswerTokens(correct, incorrect, -1);
    }

    /** The logit difference of one token pair for every batch element, at the last position. */
    public static AnswerTokens difference(long correct, long incorrect) {
        return new AnswerTokens(new long[] {correct}, new long[] {incorrect}, -1);
    }

    /** The same tokens read at another position ({@code -1} is the last). */
    public AnswerTokens at(int position) {
        return new AnswerTokens(correct, incorrect, position);
    }

    /** The correct tokens. */
    public long[] correct() {
        return correct.clone();
    }

    /** The incorrect tokens, or null for a plain logit. */
    public long[] incorrect() {
        return incorrect == null ? null : incorrect.clone();
    }

    /** Whether this is a logit difference. */
    public boolean isDifference() {
        return incorrect != null;
    }

    /** The position the logit is read at (negative counts from the end). */
    public int position() {
        return position;
    }

    /** The correct tokens for a batch of {@code batch} ({@code [batch]} int64), owned by {@code m}. */
    NDArray correctArray(int batch, NDManager m) {
        return m.create(expand(correct, batch));
    }

    /** The incorrect tokens for a batch of {@code batch}, or null. */
    NDArray incorrectArray(int batch, NDManager m) {
        return incorrect == null ? null : m.create(expand(incorrect, batch));
    }

    private long[] expand(long[] tokens, int batch) {
        if (tokens.length == batch) {
            return tokens.clone();
        }
        if (tokens.length != 1) {
            throw new IllegalArgumentException("AnswerTokens has " + tokens.length + " tokens but the batch has "
                    + batch + " elements (give one per element, or one for all)");
        }
        long[] out = new long[batch];
        Arrays.fill(out, tokens[0]);
        return out;
    }

    /**
     * The residual-stream direction of the answer per batch element, {@code W_U[:, correct] - W_U[:,
     * incorrect]} (TransformerLens's {@code tokens_to_residual_directions}, differenced): its dot product with
     * the final normalised residual is the logit difference minus the {@code b_U} difference.
     *
     * @return {@code [batch, d_model]}, owned by {@code m}
     */
    public NDArray residualDirections(HookedTransformer model, int batch, NDManager m) {
        try (NDManager tmp = m.newSubManager()) {
            NDArray dirs = model.tokensToResidualDirections(correctArray(batch, tmp));
            if (incorrect != null) {
                dirs = dirs.sub(model.tokensToResidualDirections(incorrectArray(batch, tmp)));
            }
            dirs.attach(m);
            return dirs;
        }
    }

    /**
     * The answer read from model logits: {@code logits[b, position, correct_b] - logits[b, position,
     * incorrect_b]} (or the plain logit).
     *
     * @param logits {@code [batch, pos, d_vocab_out]}
     * @return one value per batch element
     */
    public double[] logitDifference(NDArray logits) {
        if (logits.getShape().dimension() != 3) {
            throw new IllegalArgumentException("logits must be [batch, pos, d_vocab_out], not " + logits.getShape());
        }
        int batch = (int) logits.getShape().get(0);
        long positions = logits.getShape().get(1);
        long vocab = logits.getShape().get(2);
        if (position < -positions || position >= positions) {
            throw new IllegalArgumentException("answer position " + position + " is out of range for " + positions
                    + " positions");
        }
        long[] c = expand(correct, batch);
        long[] w = incorrect == null ? null : expand(incorrect, batch);
        double[] rows;
        try (NDArray at = logits.get(new NDIndex(":, {}", position))) {
            rows = Doubles.of(at);
        }
        double[] out = new double[batch];
        for (int b = 0; b < batch; b++) {
            out[b] = rows[(int) (b * vocab + checkToken(c[b], vocab))]
                    - (w == null ? 0 : rows[(int) (b * vocab + checkToken(w[b], vocab))]);
        }
        return out;
    }

    private static long checkToken(long token, long vocab) {
        if (token < 0 || token >= vocab) {
            throw new IllegalArgumentException("answer token " + token + " is out of range [0, " + vocab + ")");
        }
        return token;
    }

    @Override
    public String toString() {
        return "AnswerTokens(" + Arrays.toString(correct) + (incorrect == null ? "" : " - " + Arrays.toString(incorrect))
                + " at " + position + ")";
    }
}
