package org.lens4j.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.HookedTransformer;

/**
 * TransformerLens's {@code head_detector.detect_head}: how closely each head's attention pattern on one
 * token sequence matches a detection pattern (a built-in {@link HeadPattern} or your own
 * {@code [pos, pos]} matrix), as an {@code [n_layers, n_heads]} table.
 *
 * <pre>{@code
 * NDArray tokens = manager.create(new long[] {0, 5, 9, 3, 5, 9, 3});        // BOS first, as to_tokens
 * LayerHeadScores prev = HeadDetector.detectHead(model, tokens, HeadPattern.PREVIOUS_TOKEN_HEAD);
 * LayerHeadScores ind = HeadDetector.detectHead(model, tokens, HeadPattern.INDUCTION_HEAD,
 *         DetectOptions.builder().excludeBos(true).errorMeasure(ErrorMeasure.ABS).build());
 * }</pre>
 *
 * <p>Tokens are used as given: TransformerLens's {@code to_tokens} prepends BOS, so pass BOS first to get
 * its numbers. As in TransformerLens, the sequence must have more than 1 and fewer than {@code n_ctx}
 * tokens, heads not selected score -1, and scores are rounded to the model's dtype. Unlike TransformerLens,
 * a cache passed in the options is never modified ({@code detect_head} zeroes the BOS column and the
 * diagonal of the cached patterns in place with "mul" and {@code exclude_*}).
 */
public final class HeadDetector {

    private static final System.Logger LOG = System.getLogger(HeadDetector.class.getName());

    /** TransformerLens's {@code SEQ_LEN_ERR}. */
    static final String SEQ_LEN_ERR = "The sequence must be non-empty and must fit within the model's context window.";

    private HeadDetector() {}

    /** Scores every head against a built-in pattern with TransformerLens's defaults ("mul", nothing excluded). */
    public static LayerHeadScores detectHead(HookedTransformer model, NDArray tokens, HeadPattern pattern) {
        return detectHead(model, tokens, pattern, DetectOptions.DEFAULT);
    }

    /** Scores heads against a built-in pattern given by its TransformerLens name, e.g. {@code "induction_head"}. */
    public static LayerHeadScores detectHead(HookedTransformer model, NDArray tokens, String patternName,
            DetectOptions options) {
        return detectHead(model, tokens, HeadPattern.fromName(patternName), options);
    }

    /**
     * Scores heads against a built-in pattern built from the tokens.
     *
     * @param tokens one sequence, {@code [pos]} or {@code [1, pos]}
     */
    public static LayerHeadScores detectHead(HookedTransformer model, NDArray tokens, HeadPattern pattern,
            DetectOptions options) {
        long[] seq = sequence(tokens);
        try (NDManager m = NDManager.newBaseManager()) {
            return detect(model, seq, pattern.of(seq, m), pattern.tlName(), options);
        }
    }

    /**
     * Scores heads against your own detection pattern.
     *
     * @param tokens one sequence, {@code [pos]} or {@code [1, pos]}
     * @param detectionPattern {@code [pos, pos]}, lower triangular (query rows, key columns); with "mul" it
     *     should hold only 0 and 1 (other values are allowed, with a warning, as in TransformerLens)
     */
    public static LayerHeadScores detectHead(HookedTransformer model, NDArray tokens, NDArray detectionPattern,
            DetectOptions options) {
        return detect(model, sequence(tokens), detectionPattern, "custom", options);
    }

    /**
     * TransformerLens's list form, {@code detect_head(model, [seq1, seq2, ...], name)}: the mean of the
     * single-sequence scores. TransformerLens ignores every other argument on this path and uses its
     * defaults, and so does lens4j (a warning is logged when non-default options are passed); call the
     * single-sequence form in a loop to use options.
     *
     * @param sequences token sequences, each {@code [pos]} or {@code [1, pos]}; lengths may differ
     */
    public static LayerHeadScores detectHead(HookedTransformer model, List<NDArray> sequences, HeadPattern pattern,
            DetectOptions options) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("detectHead needs at least one sequence");
        }
        if (!options.isDefault()) {
            LOG.log(System.Logger.Level.WARNING, "detectHead over a list of sequences ignores heads, cache, exclude_bos, "
                    + "exclude_current_token and error_measure, as TransformerLens does; using the defaults");
        }
        List<LayerHeadScores> each = new ArrayList<>();
        for (NDArray s : sequences) {
            each.add(detectHead(model, s, pattern, DetectOptions.DEFAULT));
        }
        LayerHeadScores mean = LayerHeadScores.mean(pattern.tlName() + "/" + ErrorMeasure.MUL.tlName(), each);
        return roundToModelDtype(model, mean.name(), mean.toArray());
    }

    private static LayerHeadScores detect(HookedTransformer model, long[] seq, NDArray detectionPattern, String name,
            DetectOptions o) {
        var cfg = model.config();
        int p = seq.length;
        if (o.errorMeasure() == ErrorMeasure.MUL && !isZeroOne(detectionPattern)) {
            LOG.log(System.Logger.Level.WARNING, "Using detection pattern with values other than 0 or 1 with error_measure 'mul'");
        }
        if (!(1 < p && p < cfg.nCtx())) {
            throw new IllegalArgumentException(SEQ_LEN_ERR + " Got " + p + " tokens; n_ctx is " + cfg.nCtx()
                    + " (TransformerLens needs 1 < tokens < n_ctx).");
        }
        checkDetectionPattern(detectionPattern, p);
        List<LayerHead> heads = o.heads();
        if (heads == null) {
            heads = new ArrayList<>();
            for (int l = 0; l < cfg.nLayers(); l++) {
                for (int h = 0; h < cfg.nHeads(); h++) {
                    heads.add(new LayerHead(l, h));
                }
            }
        }
        for (LayerHead h : heads) {
            if (h.layer() >= cfg.nLayers() || h.head() >= cfg.nHeads()) {
                throw new IllegalArgumentException("head " + h + " does not exist in a model of " + cfg.nLayers()
                        + " layers x " + cfg.nHeads() + " heads");
            }
        }
        double[][] scores = new double[cfg.nLayers()][cfg.nHeads()];
        for (double[] row : scores) {
            Arrays.fill(row, -1);
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray[] patterns = layerPatterns(model, seq, o.cache(), m);
            NDArray d = detectionPattern.toType(patterns[0].getDataType(), false);
            for (LayerHead h : heads) {
                NDArray a = patterns[h.layer()].get(h.head());
                scores[h.layer()][h.head()] = similarity(a, d, o.excludeBos(), o.excludeCurrentToken(), o.errorMeasure(),
                        h);
            }
        }
        return roundToModelDtype(model, name + "/" + o.errorMeasure().tlName(), scores);
    }

    /**
     * TransformerLens's {@code compute_head_attention_similarity_score} for one head.
     *
     * @param attention the head's pattern {@code [pos, pos]} (not modified)
     * @param detection the detection pattern {@code [pos, pos]}, same dtype
     */
    static double similarity(NDArray attention, NDArray detection, boolean excludeBos, boolean excludeCurrentToken,
            ErrorMeasure measure, LayerHead head) {
        int p = (int) attention.getShape().get(0);
        NDManager m = attention.getManager();
        // 1 where a (query, key) entry is kept, 0 where exclude_bos / exclude_current_token removes it
        float[][] keep = new float[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                keep[i][j] = (excludeBos && j == 0) || (excludeCurrentToken && i == j) ? 0 : 1;
            }
        }
        NDArray keepMask = m.create(keep).toType(attention.getDataType(), false);
        if (measure == ErrorMeasure.MUL) {
            NDArray a = attention.mul(keepMask);
            return a.mul(detection).sum().div(a.sum()).toType(DataType.FLOAT64, false).getDouble();
        }
        NDArray absDiff = attention.sub(detection).abs();
        if (absDiff.mul(upperTriangle(p, m, absDiff.getDataType())).sum().toType(DataType.FLOAT64, false).getDouble() != 0) {
            throw new IllegalArgumentException("the attention pattern of " + head + " is not lower triangular: the abs "
                    + "error measure needs a causal model");
        }
        double meanTimesSize = absDiff.mul(keepMask).mean().mul(p).toType(DataType.FLOAT64, false).getDouble();
        // Python's round(x, 3): the exact decimal value of the double, rounded half to even
        double rounded = new BigDecimal(meanTimesSize).setScale(3, RoundingMode.HALF_EVEN).doubleValue();
        return 1 - rounded;
    }

    /** {@code [n_heads, pos, pos]} patterns per layer, from the cache or a new run; owned by {@code m}. */
    private static NDArray[] layerPatterns(HookedTransformer model, long[] seq, ActivationCache cache, NDManager m) {
        if (cache == null) {
            NDArray[] run = AttentionPatterns.of(model, m.create(new long[][] {seq}), m);
            for (int l = 0; l < run.length; l++) {
                run[l] = run[l].get(0);
            }
            return run;
        }
        List<String> names = AttentionPatterns.names(model);
        NDArray[] out = new NDArray[names.size()];
        for (int l = 0; l < out.length; l++) {
            out[l] = withoutBatch(cache.get(names.get(l)), names.get(l), seq.length).duplicate();
            out[l].attach(m);
        }
        return out;
    }

    /** A cached pattern {@code [1, n_heads, pos, pos]} or {@code [n_heads, pos, pos]} as the latter. */
    private static NDArray withoutBatch(NDArray pattern, String name, int positions) {
        Shape s = pattern.getShape();
        if (s.dimension() == 4 && s.get(0) == 1) {
            pattern = pattern.get(0);
            s = pattern.getShape();
        }
        if (s.dimension() != 3 || s.get(1) != positions || s.get(2) != positions) {
            throw new IllegalArgumentException("cached '" + name + "' has shape " + pattern.getShape() + "; detectHead needs"
                    + " the patterns of this one sequence of " + positions + " tokens, [1, n_heads, " + positions + ", "
                    + positions + "] or [n_heads, " + positions + ", " + positions + "]");
        }
        return pattern;
    }

    private static long[] sequence(NDArray tokens) {
        Shape s = tokens.getShape();
        if (!(s.dimension() == 1 || (s.dimension() == 2 && s.get(0) == 1))) {
            throw new IllegalArgumentException("detectHead needs one token sequence, [pos] or [1, pos], not " + s
                    + "; for several sequences pass a List");
        }
        if (!tokens.getDataType().isInteger()) {
            throw new IllegalArgumentException("tokens must be integers, not " + tokens.getDataType());
        }
        return tokens.toType(DataType.INT64, false).toLongArray();
    }

    private static void checkDetectionPattern(NDArray d, int p) {
        Shape s = d.getShape();
        boolean square = s.dimension() == 2 && s.get(0) == p && s.get(1) == p;
        if (!square || d.mul(upperTriangle(p, d.getManager(), d.getDataType())).abs().sum()
                .toType(DataType.FLOAT64, false).getDouble() != 0) {
            throw new IllegalArgumentException("The detection pattern must be a lower triangular matrix of shape "
                    + "(sequence_length, sequence_length); sequence_length=" + p + "; got detection pattern of shape " + s
                    + (square ? " with non-zero entries above the diagonal" : ""));
        }
    }

    /** {@code [p, p]}: 1 strictly above the diagonal, 0 elsewhere. */
    private static NDArray upperTriangle(int p, NDManager m, DataType dtype) {
        NDArray idx = m.arange(p);
        return idx.reshape(1, p).gt(idx.reshape(p, 1)).toType(dtype, false);
    }

    private static boolean isZeroOne(NDArray d) {
        for (double v : d.toType(DataType.FLOAT64, false).toDoubleArray()) {
            if (v != 0 && v != 1) {
                return false;
            }
        }
        return true;
    }

    /** TransformerLens stores the scores in a tensor of the model's dtype. */
    private static LayerHeadScores roundToModelDtype(HookedTransformer model, String name, double[][] scores) {
        if (model.config().dtype() == DataType.FLOAT32) {
            for (double[] row : scores) {
                for (int h = 0; h < row.length; h++) {
                    row[h] = (float) row[h];
                }
            }
        }
        return new LayerHeadScores(name, scores);
    }
}
