package org.lens4j.analysis.report;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.lens4j.analysis.heads.LayerHeadScores;

/**
 * Per-head scores of one model under several detectors, in a fixed column order: the data behind a head
 * report, which knows nothing of how it is printed.
 */
public final class HeadScoreTable {

    private final String model;
    private final int nLayers;
    private final int nHeads;
    private final LinkedHashMap<String, LayerHeadScores> scores = new LinkedHashMap<>();

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
        return put(detector, new LayerHeadScores(detector, values));
    }

    /** Adds a detector's scores, which must have this table's layers and heads. */
    public HeadScoreTable put(String detector, LayerHeadScores values) {
        if (values.layers() != nLayers || values.heads() != nHeads) {
            throw new IllegalArgumentException(detector + ": scores of " + values.layers() + " layers x " + values.heads()
                    + " heads, expected " + nLayers + " x " + nHeads);
        }
        if (scores.putIfAbsent(detector, values) != null) {
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

    /** A detector's scores. */
    public LayerHeadScores scores(String detector) {
        LayerHeadScores t = scores.get(detector);
        if (t == null) {
            throw new IllegalArgumentException("no detector '" + detector + "' in the table; have " + scores.keySet());
        }
        return t;
    }

    /** A detector's score of one head. */
    public double score(String detector, int layer, int head) {
        return scores(detector).get(layer, head);
    }

    /** The k highest-scoring heads of a detector (NaN skipped), best first. */
    public List<LayerHeadScores.Entry> top(String detector, int k) {
        return scores(detector).top(k);
    }

    /** An unmodifiable view of the scores by detector. */
    public Map<String, LayerHeadScores> asMap() {
        return Collections.unmodifiableMap(scores);
    }
}
