package org.lens4j.analysis.lens;

import java.util.List;

/**
 * A logit-lens report with labelled axes: one {@link LensPrediction} per (layer, batch element), layers
 * labelled as TransformerLens's {@code accumulated_resid} ({@code 0_pre}, {@code 0_mid}, ...,
 * {@code final_post}), read at one position.
 */
public final class LogitLensResult {

    private final List<String> layers;
    private final int batchSize;
    private final int position;
    private final List<LensPrediction> predictions;

    LogitLensResult(List<String> layers, int batchSize, int position, List<LensPrediction> predictions) {
        this.layers = List.copyOf(layers);
        this.batchSize = batchSize;
        this.position = position;
        this.predictions = List.copyOf(predictions);
    }

    /** The layer labels, in order. */
    public List<String> layers() {
        return layers;
    }

    /** The number of batch elements. */
    public int batchSize() {
        return batchSize;
    }

    /** The position read (as given: negative counts from the end). */
    public int position() {
        return position;
    }

    /** The prediction at layer index {@code layer} for batch element {@code batch}. */
    public LensPrediction get(int layer, int batch) {
        if (layer < 0 || layer >= layers.size() || batch < 0 || batch >= batchSize) {
            throw new IndexOutOfBoundsException("layer " + layer + ", batch " + batch + " outside " + layers.size()
                    + " layers x " + batchSize + " batch elements");
        }
        return predictions.get(layer * batchSize + batch);
    }

    /** The prediction at a layer label ({@code "1_pre"}) for a batch element. */
    public LensPrediction get(String layer, int batch) {
        int i = layers.indexOf(layer);
        if (i < 0) {
            throw new IllegalArgumentException("no layer '" + layer + "'; layers: " + layers);
        }
        return get(i, batch);
    }

    /** The target's rank at every layer for one batch element (a target must have been given). */
    public int[] targetRanks(int batch) {
        return layers.stream().mapToInt(l -> target(l, batch).targetRank()).toArray();
    }

    /** The target's probability at every layer for one batch element. */
    public double[] targetProbs(int batch) {
        return layers.stream().mapToDouble(l -> target(l, batch).targetProb()).toArray();
    }

    private LensPrediction target(String layer, int batch) {
        LensPrediction p = get(layer, batch);
        if (!p.hasTarget()) {
            throw new IllegalStateException("the logit lens ran without a target token (Options.targets)");
        }
        return p;
    }

    @Override
    public String toString() {
        return "LogitLensResult(" + layers + ", batch " + batchSize + ", position " + position + ")";
    }
}
