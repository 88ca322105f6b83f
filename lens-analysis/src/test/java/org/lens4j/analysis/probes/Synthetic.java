package org.lens4j.analysis.probes;

import java.util.List;
import java.util.Random;

/** Synthetic probing sets with known answers, seeded. */
final class Synthetic {

    private Synthetic() {}

    /** A random unit vector {@code [d]}. */
    static float[] unitVector(int d, Random rng) {
        float[] u = new float[d];
        double norm = 0;
        for (int j = 0; j < d; j++) {
            u[j] = (float) rng.nextGaussian();
            norm += u[j] * u[j];
        }
        for (int j = 0; j < d; j++) {
            u[j] /= (float) Math.sqrt(norm);
        }
        return u;
    }

    /**
     * Isotropic Gaussian activations {@code N(0, I_d)}, with {@code strength * direction} added to the rows
     * whose label is 1 (each row is class 1 with probability 1/2); {@code rowsPerSequence} rows per sequence.
     */
    static ProbingSet planted(int n, int d, float[] direction, double strength, int rowsPerSequence, Random rng) {
        float[][] x = new float[n][d];
        int[] labels = new int[n];
        int[] sequences = new int[n];
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextBoolean() ? 1 : 0;
            for (int j = 0; j < d; j++) {
                x[i][j] = (float) (rng.nextGaussian() + labels[i] * strength * direction[j]);
            }
            sequences[i] = i / rowsPerSequence;
            positions[i] = i % rowsPerSequence;
        }
        return ProbingSet.of("synthetic", "planted", List.of("not planted", "planted"), x, labels, sequences, positions);
    }

    /** Cosine of two vectors. */
    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
