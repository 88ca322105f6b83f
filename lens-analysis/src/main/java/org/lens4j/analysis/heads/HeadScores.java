package org.lens4j.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Random;
import org.lens4j.core.HookedTransformer;

/**
 * Per-head scores measured on sequences of a random segment repeated twice, {@code [prefix, S, S]} with
 * S of n random tokens (Olsson et al., "In-context Learning and Induction Heads", 2022; the ARENA
 * induction-head tutorial's "repeated random tokens"). With the second copy starting at position
 * {@code s = prefix + n}, and {@code A} a head's pattern {@code [query, key]}, averaged over the batch:
 * <ul>
 *   <li><b>induction</b>: mean of {@code A[i, i - n + 1]} over the second copy {@code i in [s, s + n)}, the
 *       attention to the token after the earlier occurrence of the current token;</li>
 *   <li><b>previous token</b>: mean of {@code A[i, i - 1]} over every position {@code i >= 1};</li>
 *   <li><b>duplicate token</b>: mean of {@code A[i, i - n]} over the second copy, the attention to the
 *       earlier occurrence of the current token.</li>
 * </ul>
 * Each score is the fraction of a head's attention on the key it should attend to (1 = all of it). A
 * head with uniform causal attention scores about {@code 1/i}; a random-weight model stays near there.
 */
public final class HeadScores {

    /**
     * The three scores, each {@code [n_layers, n_heads]}.
     *
     * @param induction attention to the token after the earlier copy
     * @param previousToken attention to the previous position
     * @param duplicateToken attention to the earlier copy of the current token
     */
    public record Result(LayerHeadScores induction, LayerHeadScores previousToken, LayerHeadScores duplicateToken) {}

    private HeadScores() {}

    /**
     * The three scores as report metrics (induction, previous token, duplicate token), each drawing the
     * same sequences.
     */
    public static List<HeadMetric> metrics(RepeatedTokens sequences) {
        return List.of(model -> compute(model, sequences).induction(),
                model -> compute(model, sequences).previousToken(),
                model -> compute(model, sequences).duplicateToken());
    }

    /** The scores on {@code options.batchSize()} fresh sequences drawn with {@code options.seed()}. */
    public static Result compute(HookedTransformer model, RepeatedTokens options) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray tokens = options.generate(m, model.config().dVocab(), new Random(options.seed()));
            return compute(model, tokens, options.segmentLength());
        }
    }

    /**
     * The scores on given sequences: each row is a prefix followed by two copies of an n-token segment.
     *
     * @param tokens {@code [batch, prefix + 2n]}
     * @param segmentLength n
     * @throws IllegalArgumentException if a row is not of that form (the row and position are named)
     */
    public static Result compute(HookedTransformer model, NDArray tokens, int segmentLength) {
        Shape s = tokens.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("repeated tokens must be [batch, pos], not " + s);
        }
        int n = segmentLength;
        int length = (int) s.get(1);
        int prefix = length - 2 * n;
        if (n < 1 || prefix < 0) {
            throw new IllegalArgumentException("sequences of " + length + " tokens cannot hold two copies of a "
                    + segmentLength + "-token segment");
        }
        long[] t = tokens.toType(DataType.INT64, false).toLongArray();
        for (int b = 0; b < s.get(0); b++) {
            for (int i = prefix + n; i < length; i++) {
                if (t[b * length + i] != t[b * length + i - n]) {
                    throw new IllegalArgumentException("row " + b + " of the repeated tokens is not a segment of "
                            + n + " repeated: position " + i + " holds " + t[b * length + i] + " but position " + (i - n)
                            + " holds " + t[b * length + i - n]);
                }
            }
        }
        float[][] patterns = new float[model.config().nLayers()][];
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray[] byLayer = AttentionPatterns.of(model, tokens, m);
            for (int l = 0; l < patterns.length; l++) {
                patterns[l] = byLayer[l].toType(DataType.FLOAT32, false).toFloatArray();
            }
        }
        int batch = (int) s.get(0);
        int heads = model.config().nHeads();
        int second = prefix + n;
        return new Result(
                new LayerHeadScores("induction", diagonalMean(patterns, batch, heads, length, n - 1, second)),
                new LayerHeadScores("previous_token", diagonalMean(patterns, batch, heads, length, 1, 1)),
                new LayerHeadScores("duplicate_token", diagonalMean(patterns, batch, heads, length, n, second)));
    }

    /**
     * Mean of {@code A[i, i - back]} over queries {@code i in [from, pos)} and the batch, per head.
     *
     * @param patterns per layer, {@code [batch, head, pos, pos]} flattened
     */
    private static double[][] diagonalMean(float[][] patterns, int batch, int heads, int pos, int back, int from) {
        double[][] out = new double[patterns.length][heads];
        for (int l = 0; l < patterns.length; l++) {
            for (int h = 0; h < heads; h++) {
                double sum = 0;
                for (int b = 0; b < batch; b++) {
                    int rows = (b * heads + h) * pos;
                    for (int i = from; i < pos; i++) {
                        sum += patterns[l][(rows + i) * pos + i - back];
                    }
                }
                out[l][h] = sum / ((double) batch * (pos - from));
            }
        }
        return out;
    }
}
