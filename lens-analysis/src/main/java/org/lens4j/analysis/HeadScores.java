package org.lens4j.analysis;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One score per attention head, {@code [layer][head]}, with TransformerLens's head labels ({@code "L0H0"},
 * ...): copying scores, detector scores and the like.
 */
public final class HeadScores {

    /** One labelled head score. */
    public record Entry(String label, int layer, int head, double value) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%s %+.4f", label, value);
        }
    }

    private final String name;
    private final double[][] values;

    /**
     * @param name what the scores are (for reports), e.g. {@code "copying score"}
     * @param values {@code [layer][head]}, every row the same length
     */
    public HeadScores(String name, double[][] values) {
        for (double[] row : values) {
            if (row.length != values[0].length) {
                throw new IllegalArgumentException("head scores need the same number of heads in every layer");
            }
        }
        this.name = name;
        this.values = new double[values.length][];
        for (int l = 0; l < values.length; l++) {
            this.values[l] = values[l].clone();
        }
    }

    /** What the scores are. */
    public String name() {
        return name;
    }

    /** The score of one head. */
    public double get(int layer, int head) {
        return values[layer][head];
    }

    /** The number of layers. */
    public int nLayers() {
        return values.length;
    }

    /** The number of heads per layer. */
    public int nHeads() {
        return values.length == 0 ? 0 : values[0].length;
    }

    /** A copy of the scores, {@code [layer][head]}. */
    public double[][] toArray() {
        double[][] out = new double[values.length][];
        for (int l = 0; l < values.length; l++) {
            out[l] = values[l].clone();
        }
        return out;
    }

    /** The {@code k} highest-scoring heads, highest first (NaN scores last). */
    public List<Entry> top(int k) {
        List<Entry> all = new ArrayList<>();
        for (int l = 0; l < nLayers(); l++) {
            for (int h = 0; h < nHeads(); h++) {
                all.add(new Entry("L" + l + "H" + h, l, h, values[l][h]));
            }
        }
        all.sort(Comparator.comparingDouble((Entry e) -> Double.isNaN(e.value()) ? Double.NEGATIVE_INFINITY : e.value())
                .reversed());
        return List.copyOf(all.subList(0, Math.min(k, all.size())));
    }

    @Override
    public String toString() {
        return "HeadScores(" + name + ", " + nLayers() + " layers x " + nHeads() + " heads)";
    }
}
