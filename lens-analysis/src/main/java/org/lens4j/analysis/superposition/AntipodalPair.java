package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Two hidden neurons of a {@link NeuronComputationModel} that compute {@code abs(x_i)} together
 * as {@code ReLU(x_i) + ReLU(-x_i)}: both read mainly feature {@code i}, with input weights of
 * opposite sign (their input weight vectors point in nearly opposite directions), and both write
 * back to feature {@code i} with a positive output weight.
 *
 * @param instance the model instance
 * @param feature the feature both neurons read most strongly
 * @param neuronA the first neuron (lower index)
 * @param neuronB the second neuron
 * @param cosine cosine similarity of the two neurons' input weight vectors {@code W1[inst, n, :]}
 * @param inputWeightA {@code W1[inst, neuronA, feature]}
 * @param inputWeightB {@code W1[inst, neuronB, feature]}
 * @param outputWeightA {@code W2[inst, feature, neuronA]}
 * @param outputWeightB {@code W2[inst, feature, neuronB]}
 */
public record AntipodalPair(int instance, int feature, int neuronA, int neuronB, double cosine,
        float inputWeightA, float inputWeightB, float outputWeightA, float outputWeightB) {

    /** The cosine bound used by the reports: input weight vectors at least this opposite. */
    public static final double DEFAULT_MAX_COSINE = -0.9;

    /**
     * Finds every antipodal pair: neurons {@code a < b} whose largest input weight (in absolute
     * value) is on the same feature {@code i}, with {@code W1[a, i] * W1[b, i] < 0}, cosine of
     * their input weight vectors below {@code maxCosine}, and {@code W2[i, a] > 0}, {@code W2[i, b]
     * > 0}.
     *
     * @param w1 input weights {@code [instances, d_hidden, features]}
     * @param w2 output weights {@code [instances, features, d_hidden]}
     * @param maxCosine e.g. -0.9
     * @return the pairs, ordered by instance, then neuron
     */
    public static List<AntipodalPair> find(NDArray w1, NDArray w2, double maxCosine) {
        Shape s1 = w1.getShape();
        Shape s2 = w2.getShape();
        if (s1.dimension() != 3 || s2.dimension() != 3 || s1.get(0) != s2.get(0)
                || s1.get(1) != s2.get(2) || s1.get(2) != s2.get(1)) {
            throw new IllegalArgumentException("W1 must be [instances, d_hidden, features] and W2"
                    + " [instances, features, d_hidden], got W1 " + s1 + " and W2 " + s2);
        }
        int nInst = (int) s1.get(0);
        int hidden = (int) s1.get(1);
        int features = (int) s1.get(2);
        float[] in = w1.toFloatArray();
        float[] out = w2.toFloatArray();
        List<AntipodalPair> pairs = new ArrayList<>();
        for (int inst = 0; inst < nInst; inst++) {
            int[] dominant = new int[hidden];
            double[] norm = new double[hidden];
            for (int n = 0; n < hidden; n++) {
                int row = (inst * hidden + n) * features;
                for (int f = 0; f < features; f++) {
                    norm[n] += (double) in[row + f] * in[row + f];
                    if (Math.abs(in[row + f]) > Math.abs(in[row + dominant[n]])) {
                        dominant[n] = f;
                    }
                }
                norm[n] = Math.sqrt(norm[n]);
            }
            for (int a = 0; a < hidden; a++) {
                for (int b = a + 1; b < hidden; b++) {
                    int f = dominant[a];
                    if (dominant[b] != f || norm[a] == 0 || norm[b] == 0) {
                        continue;
                    }
                    int rowA = (inst * hidden + a) * features;
                    int rowB = (inst * hidden + b) * features;
                    double dot = 0;
                    for (int k = 0; k < features; k++) {
                        dot += (double) in[rowA + k] * in[rowB + k];
                    }
                    double cosine = dot / (norm[a] * norm[b]);
                    float outA = out[(inst * features + f) * hidden + a];
                    float outB = out[(inst * features + f) * hidden + b];
                    if (cosine < maxCosine && in[rowA + f] * in[rowB + f] < 0 && outA > 0
                            && outB > 0) {
                        pairs.add(new AntipodalPair(inst, f, a, b, cosine, in[rowA + f],
                                in[rowB + f], outA, outB));
                    }
                }
            }
        }
        return pairs;
    }
}
