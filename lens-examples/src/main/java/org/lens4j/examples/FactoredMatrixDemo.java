package org.lens4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.lens4j.core.ComplexTensor;
import org.lens4j.core.CompositionScores;
import org.lens4j.core.FactoredMatrix;

/**
 * The FactoredMatrix part of TransformerLens's Main_Demo notebook in Java, plus composition scores
 * on attention weights with one planted Q-composition. Prints what docs/factored-matrix.md shows.
 */
public final class FactoredMatrixDemo {

    private FactoredMatrixDemo() {}

    /**
     * Runs the demo.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        Random random = new Random(50);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = randn(manager, random, 1f, 5, 2);
            NDArray b = randn(manager, random, 1f, 2, 5);
            NDArray ab = a.matMul(b);
            try (FactoredMatrix abFactor = new FactoredMatrix(a, b)) {
                System.out.println(abFactor);
                System.out.printf("Norms: dense %.4f, factored %.4f%n", ab.norm().getFloat(),
                        abFactor.norm().getFloat());
                System.out.printf("Left dimension: %d, hidden dimension: %d, right dimension: %d%n",
                        abFactor.ldim(), abFactor.mdim(), abFactor.rdim());
                ComplexTensor eig = abFactor.eigenvalues();
                System.out.println("Eigenvalues (of B @ A): real " + format(eig.real())
                        + ", imag " + format(eig.imag()));
                System.out.println("Singular values: " + format(abFactor.s()));

                NDArray c = randn(manager, random, 1f, 5, 300);
                try (FactoredMatrix abcFactor = abFactor.matMul(c)) {
                    System.out.printf("(AB) @ C: dense norm %.4f, factored %s norm %.4f%n",
                            ab.matMul(c).norm().getFloat(), abcFactor, abcFactor.norm().getFloat());
                }
                System.out.println("AB equals A @ B: "
                        + abFactor.ab().sub(ab).abs().max().getFloat() + " max abs difference");
            }

            // Circuits of a 2-layer, 4-head model with random weights, except that head L1H2's
            // query reads exactly what head L0H1 writes: W_Q[1, 2] = W_O[0, 1]^T.
            int layers = 2;
            int heads = 4;
            int dModel = 64;
            int dHead = 16;
            float scale = (float) (1 / Math.sqrt(dModel));
            NDArray wQ = randn(manager, random, scale, layers, heads, dModel, dHead);
            NDArray wK = randn(manager, random, scale, layers, heads, dModel, dHead);
            NDArray wV = randn(manager, random, scale, layers, heads, dModel, dHead);
            NDArray wO = randn(manager, random, scale, layers, heads, dHead, dModel);
            wQ.set(new NDIndex("1, 2"), wO.get("0, 1").transpose());
            try (FactoredMatrix ov = FactoredMatrix.ov(wV, wO);
                    FactoredMatrix qk = FactoredMatrix.qk(wQ, wK)) {
                System.out.println("OV: " + ov);
                System.out.println("QK: " + qk);
                System.out.println("Frobenius norms of the OV circuits [layer, head]: "
                        + format(ov.norm()));
                NDArray q = CompositionScores.all(ov, qk, CompositionScores.Mode.Q);
                System.out.println("Q-composition scores " + q.getShape()
                        + ", layer 0 heads (rows) into layer 1 heads (columns):");
                NDArray block = q.get("0, :, 1, :");
                for (int h = 0; h < heads; h++) {
                    System.out.println("  L0H" + h + " " + format(block.get(h)));
                }
            }
        }
    }

    private static NDArray randn(NDManager manager, Random random, float scale, long... shape) {
        Shape s = new Shape(shape);
        float[] data = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian() * scale;
        }
        return manager.create(data, s);
    }

    private static String format(NDArray x) {
        float[] values = x.toFloatArray();
        String[] parts = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            parts[i] = String.format(Locale.ROOT, "%.4f", values[i]);
        }
        return Arrays.toString(parts).replace(",", "");
    }
}
