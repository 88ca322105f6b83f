package org.lens4j.analysis.dla;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Direct logit attributions with labelled axes: {@code value(component, batch)} is how much the component
 * (a sublayer output, an accumulated residual, a head or a neuron; see {@link Unit}) adds to the answer's
 * logit (difference) of batch element {@code batch}, through the final LayerNorm's cached scale.
 *
 * @see DirectLogitAttribution
 */
public final class Attribution {

    /** What the components are (TransformerLens's {@code unit}, plus neurons). */
    public enum Unit {
        /** {@code embed}, {@code pos_embed} and each layer's {@code L_attn_out}, {@code L_mlp_out} ({@code decompose_resid}). */
        COMPONENT,
        /** The residual stream accumulated up to each layer, {@code 0_pre}, {@code 0_mid}, ..., {@code final_post} ({@code accumulated_resid}). */
        LAYER,
        /** Each head {@code L0H0} ... and the {@code remainder} of the residual stream ({@code stack_head_results}). */
        HEAD,
        /** Each MLP neuron {@code L0N0} ... of every layer ({@code stack_neuron_results}). */
        NEURON
    }

    /** One labelled value. */
    public record Entry(String label, double value) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%s %+.4f", label, value);
        }
    }

    private final Unit unit;
    private final List<String> labels;
    private final double[][] values;
    private final int[] gridShape;

    /**
     * @param values {@code [component][batch]}
     * @param gridShape {@code {layers, units per layer}} for HEAD and NEURON, else null
     */
    Attribution(Unit unit, List<String> labels, double[][] values, int[] gridShape) {
        if (labels.size() != values.length) {
            throw new IllegalArgumentException(labels.size() + " labels for " + values.length + " components");
        }
        this.unit = unit;
        this.labels = List.copyOf(labels);
        this.values = values;
        this.gridShape = gridShape;
    }

    /** What the components are. */
    public Unit unit() {
        return unit;
    }

    /** The component labels, in order. */
    public List<String> labels() {
        return labels;
    }

    /** The number of components. */
    public int size() {
        return labels.size();
    }

    /** The number of batch elements. */
    public int batchSize() {
        return values.length == 0 ? 0 : values[0].length;
    }

    /** The attribution of component {@code component} for batch element {@code batch}. */
    public double value(int component, int batch) {
        return values[component][batch];
    }

    /** The attribution of a component by label; an unknown label throws, listing the labels. */
    public double value(String label, int batch) {
        return values[indexOf(label)][batch];
    }

    /** The attribution of a component averaged over the batch. */
    public double mean(String label) {
        return mean(indexOf(label));
    }

    /** Every component's attribution averaged over the batch, {@code [component]}. */
    public double[] means() {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = mean(i);
        }
        return out;
    }

    /** The sum over components per batch element; for a complete decomposition, the explained logit (difference). */
    public double[] total() {
        double[] out = new double[batchSize()];
        for (double[] row : values) {
            for (int b = 0; b < out.length; b++) {
                out[b] += row[b];
            }
        }
        return out;
    }

    /** The {@code k} components with the largest batch-mean attribution, largest first. */
    public List<Entry> top(int k) {
        return ranked(k, Comparator.comparingDouble(Entry::value).reversed());
    }

    /** The {@code k} components with the smallest (most negative) batch-mean attribution, smallest first. */
    public List<Entry> bottom(int k) {
        return ranked(k, Comparator.comparingDouble(Entry::value));
    }

    /**
     * The batch-mean attributions of heads or neurons as {@code [layer][head]} / {@code [layer][neuron]}
     * (the remainder left out), for the HEAD and NEURON units.
     */
    public double[][] grid() {
        if (gridShape == null) {
            throw new IllegalStateException("grid() needs unit HEAD or NEURON, not " + unit);
        }
        double[][] out = new double[gridShape[0]][gridShape[1]];
        for (int i = 0; i < gridShape[0] * gridShape[1]; i++) {
            out[i / gridShape[1]][i % gridShape[1]] = mean(i);
        }
        return out;
    }

    private List<Entry> ranked(int k, Comparator<Entry> order) {
        List<Entry> all = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            all.add(new Entry(labels.get(i), mean(i)));
        }
        all.sort(order);
        return List.copyOf(all.subList(0, Math.min(k, all.size())));
    }

    private double mean(int component) {
        double sum = 0;
        for (double v : values[component]) {
            sum += v;
        }
        return sum / values[component].length;
    }

    private int indexOf(String label) {
        int i = labels.indexOf(label);
        if (i < 0) {
            throw new IllegalArgumentException("no component '" + label + "'; labels: " + labels);
        }
        return i;
    }

    @Override
    public String toString() {
        return "Attribution(" + unit + ", " + size() + " components x " + batchSize() + " batch)";
    }
}
