package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Function;

/**
 * A number computed from a model's logits: what a patching experiment measures (TransformerLens's
 * {@code patching_metric}). The function returns a one-element array, so it can also be differentiated
 * (attribution patching).
 *
 * <p>A metric may declare the positions it reads ({@link #atPositions}, {@link #lastPosition}); it then
 * sees only the logits there, and patching sweeps skip the unembedding everywhere else, which for a
 * 50k-token vocabulary is a large part of the cost of a forward pass.
 *
 * <pre>{@code
 * PatchingMetric diff = PatchingMetric.logitDiff(7, 13);           // mean_b logits[b, -1, 7] - logits[b, -1, 13]
 * PatchingMetric score = diff.normalized(cleanValue, corruptedValue); // 1 = clean, 0 = corrupted
 * }</pre>
 */
public final class PatchingMetric {

    private final int[] positions;
    private final Function<NDArray, NDArray> fn;

    private PatchingMetric(int[] positions, Function<NDArray, NDArray> fn) {
        this.positions = positions;
        this.fn = Objects.requireNonNull(fn, "fn");
    }

    /**
     * A metric of the full logits.
     *
     * @param fn logits {@code [batch, pos, d_vocab_out]} to a one-element array
     */
    public static PatchingMetric of(Function<NDArray, NDArray> fn) {
        return new PatchingMetric(null, fn);
    }

    /**
     * A metric of the logits at some positions (negative positions count from the end).
     *
     * @param fn logits {@code [batch, positions.length, d_vocab_out]} to a one-element array
     */
    public static PatchingMetric atPositions(int[] positions, Function<NDArray, NDArray> fn) {
        if (positions.length == 0) {
            throw new IllegalArgumentException("a metric needs at least one position");
        }
        return new PatchingMetric(positions.clone(), fn);
    }

    /**
     * A metric of the logits at the last position.
     *
     * @param fn logits {@code [batch, d_vocab_out]} to a one-element array
     */
    public static PatchingMetric lastPosition(Function<NDArray, NDArray> fn) {
        return new PatchingMetric(new int[] {-1}, logits -> fn.apply(logits.squeeze(1)));
    }

    /**
     * The logit difference at the last position, averaged over the batch:
     * {@code mean_b(logits[b, -1, correct] - logits[b, -1, incorrect])}.
     */
    public static PatchingMetric logitDiff(long correct, long incorrect) {
        checkToken(correct, "correct");
        checkToken(incorrect, "incorrect");
        return lastPosition(last -> {
            checkVocab(last, Math.max(correct, incorrect));
            return last.get(new NDIndex(":, {}", correct)).sub(last.get(new NDIndex(":, {}", incorrect))).mean();
        });
    }

    /**
     * The logit difference at the last position with one answer pair per batch row, averaged over the
     * batch (the IOI setup): {@code mean_b(logits[b, -1, answers[b][0]] - logits[b, -1, answers[b][1]])}.
     *
     * @param answers {@code [batch][2]}: the correct and the incorrect token of each row
     */
    public static PatchingMetric logitDiff(long[][] answers) {
        long[] correct = new long[answers.length];
        long[] incorrect = new long[answers.length];
        long max = 0;
        for (int b = 0; b < answers.length; b++) {
            if (answers[b].length != 2) {
                throw new IllegalArgumentException("answers[" + b + "] must be {correct, incorrect}, not "
                        + Arrays.toString(answers[b]));
            }
            correct[b] = checkToken(answers[b][0], "answers[" + b + "][0]");
            incorrect[b] = checkToken(answers[b][1], "answers[" + b + "][1]");
            max = Math.max(max, Math.max(correct[b], incorrect[b]));
        }
        long maxToken = max;
        return lastPosition(last -> {
            if (last.getShape().get(0) != answers.length) {
                throw new IllegalArgumentException("the metric has answers for " + answers.length
                        + " batch rows but the logits have " + last.getShape().get(0));
            }
            checkVocab(last, maxToken);
            NDArray c = last.gather(last.getManager().create(correct).reshape(-1, 1), 1);
            NDArray i = last.gather(last.getManager().create(incorrect).reshape(-1, 1), 1);
            return c.sub(i).mean();
        });
    }

    private static long checkToken(long token, String what) {
        if (token < 0) {
            throw new IllegalArgumentException(what + " token id " + token + " is negative");
        }
        return token;
    }

    private static void checkVocab(NDArray logits, long maxToken) {
        long vocab = logits.getShape().get(logits.getShape().dimension() - 1);
        if (maxToken >= vocab) {
            throw new IllegalArgumentException("answer token " + maxToken + " is out of range for d_vocab_out = " + vocab);
        }
    }

    /**
     * This metric rescaled so that the corrupted run scores 0 and the clean run 1:
     * {@code (m - corrupted) / (clean - corrupted)}.
     *
     * @throws IllegalArgumentException if the two values are equal (the task does not separate them)
     */
    public PatchingMetric normalized(double clean, double corrupted) {
        double range = clean - corrupted;
        if (!(Math.abs(range) > 0) || !Double.isFinite(range)) {
            throw new IllegalArgumentException("cannot normalise: clean metric " + clean + " and corrupted metric "
                    + corrupted + " do not differ");
        }
        return new PatchingMetric(positions, logits -> fn.apply(logits).sub(corrupted).div(range));
    }

    /**
     * The metric of full logits.
     *
     * @param logits {@code [batch, pos, d_vocab_out]}
     * @return a one-element array, owned by the logits' manager
     */
    public NDArray apply(NDArray logits) {
        return applySelected(positions == null ? logits : selectPositions(logits));
    }

    /** The metric of full logits {@code [batch, pos, d_vocab_out]} as a number. */
    public double value(NDArray logits) {
        return toDouble(apply(logits));
    }

    /** The positions the metric reads (negative = from the end), or null for all. */
    int[] positions() {
        return positions == null ? null : positions.clone();
    }

    /** The metric of logits already restricted to {@link #positions()}. */
    NDArray applySelected(NDArray logits) {
        NDArray out = fn.apply(logits);
        if (out == null || out.size() != 1) {
            throw new IllegalArgumentException("a patching metric must return one value, not "
                    + (out == null ? "null" : "an array of shape " + out.getShape()));
        }
        return out;
    }

    /** Reads a one-element array as a double. */
    static double toDouble(NDArray value) {
        return value.toType(DataType.FLOAT64, false).toDoubleArray()[0];
    }

    /**
     * {@code x[:, positions]} for an array {@code [batch, pos, ...]}, negative positions counted from the end.
     *
     * @throws IllegalArgumentException if a position is out of range
     */
    NDArray selectPositions(NDArray x) {
        long n = x.getShape().get(1);
        NDList parts = new NDList();
        for (int p : positions) {
            long q = p < 0 ? p + n : p;
            if (q < 0 || q >= n) {
                throw new IllegalArgumentException("metric position " + p + " is out of range for " + n + " positions");
            }
            parts.add(x.get(new NDIndex(":, {}:{}", q, q + 1)));
        }
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 1);
    }
}
