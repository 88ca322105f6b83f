package org.lens4j.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * One score per attention head, {@code [n_layers, n_heads]}, with the name of what was measured.
 * Immutable plain data: turning it into a table or a picture is the report's job.
 */
public final class LayerHeadScores {

    private final String name;
    private final double[][] scores;

    /**
     * @param name what the scores measure, e.g. {@code induction} or {@code previous_token_head/mul}
     * @param scores {@code [n_layers][n_heads]}, copied; every row the same length
     */
    public LayerHeadScores(String name, double[][] scores) {
        if (scores.length == 0 || scores[0].length == 0) {
            throw new IllegalArgumentException("scores '" + name + "' need at least one layer and one head");
        }
        this.name = name;
        this.scores = new double[scores.length][];
        for (int l = 0; l < scores.length; l++) {
            if (scores[l].length != scores[0].length) {
                throw new IllegalArgumentException("scores '" + name + "': layer " + l + " has " + scores[l].length
                        + " heads, layer 0 has " + scores[0].length);
            }
            this.scores[l] = scores[l].clone();
        }
    }

    /** Reads a {@code [n_layers, n_heads]} array. */
    public static LayerHeadScores of(String name, NDArray scores) {
        Shape s = scores.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("scores '" + name + "' must be [n_layers, n_heads], not " + s);
        }
        double[] flat = scores.toType(DataType.FLOAT64, false).toDoubleArray();
        int heads = (int) s.get(1);
        double[][] rows = new double[(int) s.get(0)][heads];
        for (int l = 0; l < rows.length; l++) {
            System.arraycopy(flat, l * heads, rows[l], 0, heads);
        }
        return new LayerHeadScores(name, rows);
    }

    /** The element-wise mean of several score tables of the same shape, named {@code name}. */
    public static LayerHeadScores mean(String name, List<LayerHeadScores> all) {
        if (all.isEmpty()) {
            throw new IllegalArgumentException("the mean of no scores is undefined");
        }
        int layers = all.get(0).layers();
        int heads = all.get(0).heads();
        double[][] sum = new double[layers][heads];
        for (LayerHeadScores s : all) {
            if (s.layers() != layers || s.heads() != heads) {
                throw new IllegalArgumentException("cannot average scores of shape [" + s.layers() + ", " + s.heads()
                        + "] with [" + layers + ", " + heads + "]");
            }
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    sum[l][h] += s.scores[l][h];
                }
            }
        }
        for (double[] row : sum) {
            for (int h = 0; h < heads; h++) {
                row[h] /= all.size();
            }
        }
        return new LayerHeadScores(name, sum);
    }

    /** What was measured. */
    public String name() {
        return name;
    }

    /** n_layers. */
    public int layers() {
        return scores.length;
    }

    /** n_heads. */
    public int heads() {
        return scores[0].length;
    }

    /** The score of one head. */
    public double get(int layer, int head) {
        if (layer < 0 || layer >= layers() || head < 0 || head >= heads()) {
            throw new IndexOutOfBoundsException("no head L" + layer + "H" + head + " in scores of " + layers()
                    + " layers x " + heads() + " heads");
        }
        return scores[layer][head];
    }

    /** The score of one head. */
    public double get(LayerHead head) {
        return get(head.layer(), head.head());
    }

    /** The scores as {@code [n_layers][n_heads]} (a copy). */
    public double[][] toArray() {
        double[][] copy = new double[scores.length][];
        for (int l = 0; l < scores.length; l++) {
            copy[l] = scores[l].clone();
        }
        return copy;
    }

    /** The scores as a {@code [n_layers, n_heads]} array of the given dtype, owned by {@code manager}. */
    public NDArray toNDArray(NDManager manager, DataType dtype) {
        NDArray doubles = manager.create(scores);
        if (dtype == DataType.FLOAT64) {
            return doubles;
        }
        try (doubles) {
            return doubles.toType(dtype, false);
        }
    }

    /** The head with the highest score (the first one on ties, in layer-major order). */
    public LayerHead argmax() {
        return headsAtLeast(Double.NEGATIVE_INFINITY).get(0);
    }

    /** The heads scoring at least {@code threshold}, best first (ties in layer-major order). */
    public List<LayerHead> headsAtLeast(double threshold) {
        List<LayerHead> out = new ArrayList<>();
        for (int l = 0; l < layers(); l++) {
            for (int h = 0; h < heads(); h++) {
                if (scores[l][h] >= threshold) {
                    out.add(new LayerHead(l, h));
                }
            }
        }
        out.sort(Comparator.comparingDouble((LayerHead x) -> -get(x)));
        return out;
    }

    /** The largest score in one layer. */
    public double maxInLayer(int layer) {
        double best = Double.NEGATIVE_INFINITY;
        for (int h = 0; h < heads(); h++) {
            best = Math.max(best, get(layer, h));
        }
        return best;
    }

    /** A plain-text table, one row per layer. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(name).append(" [").append(layers()).append(" layers x ").append(heads())
                .append(" heads]\n");
        for (int l = 0; l < layers(); l++) {
            sb.append("  L").append(l).append(':');
            for (int h = 0; h < heads(); h++) {
                sb.append(String.format(Locale.ROOT, " %8.4f", scores[l][h]));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
