package org.lens4j.analysis.probes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A probe direction against the neuron basis: is the feature read from a few components of the
 * activation (neurons) or spread over many? The cosine of a direction {@code w} with neuron i's basis
 * vector is {@code w_i / ||w||}; the squared cosines sum to 1, so "the top k neurons carry a share s of
 * the weight" means their squared cosines sum to s. A zero direction has every cosine 0.
 *
 * @param dim length of the direction, d
 * @param nonZero number of components that are not exactly zero (L1 probes zero many)
 * @param neuronsFor90Percent fewest neurons whose squared cosines sum to at least 0.9
 * @param top the largest weights by magnitude, largest first
 */
public record NeuronBasis(int dim, int nonZero, int neuronsFor90Percent, List<NeuronWeight> top) {

    /**
     * One neuron's part in a direction.
     *
     * @param neuron index of the component
     * @param weight the direction's value there
     * @param cosine cosine of the direction with the neuron's basis vector, {@code weight / ||w||}
     */
    public record NeuronWeight(int neuron, double weight, double cosine) {}

    /**
     * Analyses a direction.
     *
     * @param direction {@code [d]}, e.g. {@link LinearProbe#direction()}
     * @param topK how many of the largest weights to list
     */
    public static NeuronBasis of(float[] direction, int topK) {
        int d = direction.length;
        double norm = norm(direction);
        Integer[] order = IntStream.range(0, d).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -Math.abs(direction[i]))
                .thenComparingInt(i -> i));
        List<NeuronWeight> top = new ArrayList<>();
        for (int r = 0; r < Math.min(topK, d); r++) {
            int i = order[r];
            top.add(new NeuronWeight(i, direction[i], cosine(direction, i)));
        }
        int nonZero = (int) IntStream.range(0, d).filter(i -> direction[i] != 0).count();
        int needed = 0;
        if (norm > 0) {
            double share = 0;
            while (share < 0.9 && needed < d) {
                double c = direction[order[needed]] / norm;
                share += c * c;
                needed++;
            }
        }
        return new NeuronBasis(d, nonZero, needed, List.copyOf(top));
    }

    /** The cosine of a direction {@code [d]} with neuron {@code i}'s basis vector (0 for a zero direction). */
    public static double cosine(float[] direction, int neuron) {
        double norm = norm(direction);
        return norm == 0 ? 0 : direction[neuron] / norm;
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }
}
