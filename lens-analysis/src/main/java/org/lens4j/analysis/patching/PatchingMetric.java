package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
    private final Function<NDArray, NDArray> stacked;

    /**
     * @param stacked the same metric for many runs at once, logits {@code [runs, batch, positions, vocab]}
     *     to {@code [runs]}, or null
     */
    private PatchingMetric(int[] positions, Function<NDArray, NDArray> fn, Function<NDArray, NDArray> stacked) {
        this.positions = positions;
        this.fn = Objects.requireNonNull(fn, "fn");
        this.stacked = stacked;
    }

    /**
     * A metric of the full logits.
     *
     * @param fn logits {@code [batch, pos, d_vocab_out]} to a one-element array
     */
    public static PatchingMetric of(Function<NDArray, NDArray> fn) {
        return new PatchingMetric(null, fn, null);
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
        return new PatchingMetric(positions.clone(), fn, null);
    }

    /**
     * A metric of the logits at the last position.
     *
     * @param fn logits {@code [batch, d_vocab_out]} to a one-element array
     */
    public static PatchingMetric lastPosition(Function<NDArray, NDArray> fn) {
        return new PatchingMetric(new int[] {-1}, logits -> fn.apply(logits.squeeze(1)), null);
    }

    /**
     * The logit difference at the last position, averaged over the batch:
     * {@code mean_b(logits[b, -1, correct] - logits[b, -1, incorrect])}.
     */
    public static PatchingMetric logitDiff(long correct, long incorrect) {
        checkToken(correct, "correct");
        checkToken(incorrect, "incorrect");
        long maxToken = Math.max(correct, incorrect);
        // last: [..., batch, d_vocab_out] -> per-row differences [..., batch]
        Function<NDArray, NDArray> rows = last -> {
            checkVocab(last, maxToken);
            int v = last.getShape().dimension() - 1;
            return last.get(indexOnAxis(v, correct)).sub(last.get(indexOnAxis(v, incorrect)));
        };
        return meanOverBatchAtLastPosition(rows);
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
        Function<NDArray, NDArray> rows = last -> {
            Shape s = last.getShape();
            if (s.get(s.dimension() - 2) != answers.length) {
                throw new IllegalArgumentException("the metric has answers for " + answers.length
                        + " batch rows but the logits have " + s.get(s.dimension() - 2));
            }
            checkVocab(last, maxToken);
            return pick(last, correct).sub(pick(last, incorrect));
        };
        return meanOverBatchAtLastPosition(rows);
    }

    /** {@code last[..., b, tokens[b]]} for logits {@code [..., batch, d_vocab_out]}: {@code [..., batch]}. */
    private static NDArray pick(NDArray last, long[] tokens) {
        Shape s = last.getShape();
        long[] idxShape = s.getShape().clone();
        idxShape[idxShape.length - 1] = 1;
        long[] oneRun = new long[idxShape.length];
        Arrays.fill(oneRun, 1);
        oneRun[oneRun.length - 2] = tokens.length;
        NDArray idx = last.getManager().create(tokens).reshape(new Shape(oneRun)).broadcast(new Shape(idxShape));
        return last.gather(idx, -1).squeeze(-1);
    }

    /** {@code ":, ..., :, i"} selecting index i on axis {@code axis}. */
    private static NDIndex indexOnAxis(int axis, long i) {
        return new NDIndex(":, ".repeat(axis) + i);
    }

    /**
     * A metric of the last position that averages per-row values over the batch, with its stacked form.
     *
     * @param rows logits {@code [..., batch, d_vocab_out]} to per-row values {@code [..., batch]}
     */
    private static PatchingMetric meanOverBatchAtLastPosition(Function<NDArray, NDArray> rows) {
        // selected logits: [batch, 1, vocab] (one run) or [runs, batch, 1, vocab] (stacked)
        return new PatchingMetric(new int[] {-1}, logits -> rows.apply(logits.squeeze(1)).mean(),
                logits -> rows.apply(logits.squeeze(2)).mean(new int[] {1}));
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
        return new PatchingMetric(positions, logits -> fn.apply(logits).sub(corrupted).div(range),
                stacked == null ? null : logits -> stacked.apply(logits).sub(corrupted).div(range));
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

    /**
     * The metric of many runs at once, or null when the metric has no stacked form (then call
     * {@link #applySelected} per run).
     *
     * @param logits {@code [runs, batch, positions().length or pos, d_vocab_out]}
     * @return {@code [runs]}
     */
    NDArray applyStacked(NDArray logits) {
        return stacked == null ? null : stacked.apply(logits);
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
