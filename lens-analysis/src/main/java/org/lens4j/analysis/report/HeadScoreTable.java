package org.lens4j.analysis.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Per-head scores of one model: one {@code [n_layers][n_heads]} table per detector, in a fixed column
 * order. The data behind a head report; it knows nothing of how it is printed.
 */
public final class HeadScoreTable {

    /** One head's score under one detector. */
    public record HeadScore(int layer, int head, double score) {

        /** TransformerLens's head label, e.g. {@code L1H3}. */
        public String label() {
            return "L" + layer + "H" + head;
        }
    }

    private final String model;
    private final int nLayers;
    private final int nHeads;
    private final LinkedHashMap<String, double[][]> scores = new LinkedHashMap<>();

    /** An empty table for a model with this many layers and heads. */
    public HeadScoreTable(String model, int nLayers, int nHeads) {
        this.model = Objects.requireNonNull(model, "model");
        if (nLayers <= 0 || nHeads <= 0) {
            throw new IllegalArgumentException("a head table needs layers and heads, not " + nLayers + " x " + nHeads);
        }
        this.nLayers = nLayers;
        this.nHeads = nHeads;
    }

    /**
     * Adds a detector's scores.
     *
     * @param values {@code [n_layers][n_heads]}; NaN marks a head the detector did not score
     */
    public HeadScoreTable put(String detector, double[][] values) {
        if (values.length != nLayers) {
            throw new IllegalArgumentException(detector + ": " + values.length + " layers, expected " + nLayers);
        }
        double[][] copy = new double[nLayers][];
        for (int l = 0; l < nLayers; l++) {
            if (values[l].length != nHeads) {
                throw new IllegalArgumentException(detector + ": layer " + l + " has " + values[l].length
                        + " heads, expected " + nHeads);
            }
            copy[l] = values[l].clone();
        }
        if (scores.putIfAbsent(detector, copy) != null) {
            throw new IllegalArgumentException("detector " + detector + " is already in the table");
        }
        return this;
    }

    /** The model's name as given. */
    public String model() {
        return model;
    }

    /** Number of layers. */
    public int nLayers() {
        return nLayers;
    }

    /** Heads per layer. */
    public int nHeads() {
        return nHeads;
    }

    /** Detector names in column order. */
    public List<String> detectors() {
        return List.copyOf(scores.keySet());
    }

    /** A detector's score of one head. */
    public double score(String detector, int layer, int head) {
        return table(detector)[layer][head];
    }

    /** A copy of a detector's {@code [n_layers][n_heads]} table. */
    public double[][] table(String detector) {
        double[][] t = scores.get(detector);
        if (t == null) {
            throw new IllegalArgumentException("no detector '" + detector + "' in the table; have " + scores.keySet());
        }
        double[][] copy = new double[nLayers][];
        for (int l = 0; l < nLayers; l++) {
            copy[l] = t[l].clone();
        }
        return copy;
    }

    /** The k highest-scoring heads of a detector (NaN skipped), best first; ties by layer then head. */
    public List<HeadScore> top(String detector, int k) {
        double[][] t = table(detector);
        List<HeadScore> all = new ArrayList<>();
        for (int l = 0; l < nLayers; l++) {
            for (int h = 0; h < nHeads; h++) {
                if (!Double.isNaN(t[l][h])) {
                    all.add(new HeadScore(l, h, t[l][h]));
                }
            }
        }
        all.sort(Comparator.comparingDouble(HeadScore::score).reversed()
                .thenComparingInt(HeadScore::layer).thenComparingInt(HeadScore::head));
        return Collections.unmodifiableList(all.subList(0, Math.min(k, all.size())));
    }

    /** An unmodifiable view of all tables by detector. */
    public Map<String, double[][]> asMap() {
        return Collections.unmodifiableMap(scores);
    }
}
