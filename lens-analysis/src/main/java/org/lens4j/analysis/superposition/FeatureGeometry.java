package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How a toy model lays its features out in the hidden space: the analyses of Elhage et al. 2022
 * on a feature-embedding matrix {@code W [instances, d_hidden, features]}, whose column {@code
 * W_i} is the direction of feature {@code i}.
 *
 * <ul>
 *   <li>{@link #gram()}: {@code WᵀW [instances, features, features]};
 *   <li>{@link #norms()}: {@code ||W_i||}, whether and how strongly a feature is represented;
 *   <li>{@link #interference()}: {@code Σ_{j≠i} (Ŵ_i · W_j)²}, how much the other features
 *       project onto feature {@code i}'s direction ({@code Ŵ_i = W_i / ||W_i||});
 *   <li>{@link #dimensionality()}: {@code D_i = ||W_i||² / Σ_j (Ŵ_i · W_j)²}, the fraction of a
 *       dimension feature {@code i} gets (1 alone in its dimension, 1/2 in an antipodal pair,
 *       2/5 in a pentagon, 0 when not represented);
 *   <li>{@link #dimensionsPerFeature(int)}: {@code d_hidden / ||W||_F²};
 *   <li>{@link #representedFeatures(int, double)}: how many features have a norm above a
 *       threshold;
 *   <li>{@link #angles(int)} and {@link #neighbourAngles(int, double)}: feature directions when
 *       {@code d_hidden = 2}.
 * </ul>
 *
 * <p>A feature with {@code ||W_i|| = 0} has interference 0 and dimensionality 0. The values are
 * copied out of native memory, so this object holds none.
 */
public final class FeatureGeometry {
    private final int nInstances;
    private final int dHidden;
    private final int nFeatures;
    private final float[][][] weights;
    private final float[][][] gram;
    private final float[][] norms;
    private final float[][] interference;
    private final float[][] dimensionality;

    private FeatureGeometry(float[][][] weights, float[][][] gram) {
        this.weights = weights;
        this.gram = gram;
        this.nInstances = weights.length;
        this.dHidden = weights[0].length;
        this.nFeatures = weights[0][0].length;
        this.norms = new float[nInstances][nFeatures];
        this.interference = new float[nInstances][nFeatures];
        this.dimensionality = new float[nInstances][nFeatures];
        for (int inst = 0; inst < nInstances; inst++) {
            for (int i = 0; i < nFeatures; i++) {
                double squaredNorm = gram[inst][i][i];
                norms[inst][i] = (float) Math.sqrt(squaredNorm);
                if (squaredNorm == 0) {
                    continue;
                }
                // (Ŵ_i · W_j)² = (W_i · W_j)² / ||W_i||²
                double projections = 0;
                for (int j = 0; j < nFeatures; j++) {
                    projections += (double) gram[inst][i][j] * gram[inst][i][j] / squaredNorm;
                }
                interference[inst][i] = (float) (projections - squaredNorm);
                dimensionality[inst][i] = (float) (squaredNorm / projections);
            }
        }
    }

    /**
     * Analyses a feature-embedding matrix.
     *
     * @param w {@code [instances, d_hidden, features]}, e.g. {@link ToyModel#W()}
     * @throws IllegalArgumentException if {@code w} is not 3-dimensional or has an empty axis
     */
    public static FeatureGeometry of(NDArray w) {
        Shape s = w.getShape();
        if (s.dimension() != 3 || s.size() == 0) {
            throw new IllegalArgumentException(
                    "W must be [instances, d_hidden, features] with no empty axis, got " + s);
        }
        try (NDManager scratch = NDManager.newBaseManager()) {
            NDArray weights = w.stopGradient();
            weights.attach(scratch);
            NDArray wT = weights.transpose(0, 2, 1);
            float[] gram = wT.matMul(weights).toFloatArray();
            return new FeatureGeometry(
                    reshape(weights.toFloatArray(), s.get(0), s.get(1), s.get(2)),
                    reshape(gram, s.get(0), s.get(2), s.get(2)));
        }
    }

    /** Number of instances. */
    public int nInstances() {
        return nInstances;
    }

    /** Hidden dimension. */
    public int dHidden() {
        return dHidden;
    }

    /** Number of features. */
    public int nFeatures() {
        return nFeatures;
    }

    /**
     * The analysed matrix, {@code [instances, d_hidden, features]}; its entry {@code [inst][n][i]}
     * is neuron {@code n}'s exposure to feature {@code i}, the segments of the stacked neuron bar
     * charts.
     */
    public float[][][] weights() {
        return copy3(weights);
    }

    /** {@code WᵀW}, {@code [instances, features, features]}. */
    public float[][][] gram() {
        return copy3(gram);
    }

    /** {@code ||W_i||}, {@code [instances, features]}. */
    public float[][] norms() {
        return copy2(norms);
    }

    /** {@code Σ_{j≠i} (Ŵ_i · W_j)²}, {@code [instances, features]}. */
    public float[][] interference() {
        return copy2(interference);
    }

    /** Feature dimensionality {@code D_i = ||W_i||² / Σ_j (Ŵ_i · W_j)²}, {@code [instances, features]}. */
    public float[][] dimensionality() {
        return copy2(dimensionality);
    }

    /** {@code d_hidden / ||W||_F²}: hidden dimensions per (unit of) embedded feature. */
    public double dimensionsPerFeature(int instance) {
        checkInstance(instance);
        double frobenius = 0;
        for (int i = 0; i < nFeatures; i++) {
            frobenius += gram[instance][i][i];
        }
        return dHidden / frobenius;
    }

    /** Number of features of {@code instance} whose norm exceeds {@code normThreshold}. */
    public int representedFeatures(int instance, double normThreshold) {
        checkInstance(instance);
        int count = 0;
        for (float norm : norms[instance]) {
            if (norm > normThreshold) {
                count++;
            }
        }
        return count;
    }

    /**
     * The direction of each feature in the plane, {@code atan2(W[1,i], W[0,i])} in degrees in
     * (-180, 180], {@code [features]}.
     *
     * @throws IllegalStateException if {@code d_hidden != 2}
     */
    public double[] angles(int instance) {
        checkInstance(instance);
        if (dHidden != 2) {
            throw new IllegalStateException("feature angles need d_hidden = 2, got " + dHidden);
        }
        double[] angles = new double[nFeatures];
        for (int i = 0; i < nFeatures; i++) {
            angles[i] = Math.toDegrees(Math.atan2(weights[instance][1][i], weights[instance][0][i]));
        }
        return angles;
    }

    /**
     * The angles between neighbouring directions of the features with norm above {@code
     * normThreshold}, going round the circle from the smallest angle: they sum to 360 (five
     * values near 72 for a pentagon). Empty when fewer than two features are represented.
     *
     * @throws IllegalStateException if {@code d_hidden != 2}
     */
    public double[] neighbourAngles(int instance, double normThreshold) {
        double[] all = angles(instance);
        List<Double> represented = new ArrayList<>();
        for (int i = 0; i < nFeatures; i++) {
            if (norms[instance][i] > normThreshold) {
                represented.add(all[i]);
            }
        }
        if (represented.size() < 2) {
            return new double[0];
        }
        double[] sorted = represented.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] gaps = new double[sorted.length];
        for (int k = 0; k < sorted.length; k++) {
            double next = k + 1 < sorted.length ? sorted[k + 1] : sorted[0] + 360;
            gaps[k] = next - sorted[k];
        }
        return gaps;
    }

    private void checkInstance(int instance) {
        if (instance < 0 || instance >= nInstances) {
            throw new IndexOutOfBoundsException(
                    "instance " + instance + " out of range [0, " + nInstances + ")");
        }
    }

    private static float[][][] reshape(float[] flat, long a, long b, long c) {
        float[][][] out = new float[(int) a][(int) b][(int) c];
        int k = 0;
        for (float[][] plane : out) {
            for (float[] row : plane) {
                System.arraycopy(flat, k, row, 0, row.length);
                k += row.length;
            }
        }
        return out;
    }

    private static float[][] copy2(float[][] a) {
        return Arrays.stream(a).map(float[]::clone).toArray(float[][]::new);
    }

    private static float[][][] copy3(float[][][] a) {
        return Arrays.stream(a).map(FeatureGeometry::copy2).toArray(float[][][]::new);
    }
}
