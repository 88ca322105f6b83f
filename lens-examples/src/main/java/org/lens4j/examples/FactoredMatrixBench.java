package org.lens4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.function.Function;
import org.lens4j.core.CompositionScores;
import org.lens4j.core.FactoredMatrix;

/**
 * Times FactoredMatrix operations on GPT-2-small-shaped random attention weights
 * ({@code [12, 12, 768, 64]} by default; pass {@code layers heads d_model d_head} to change).
 * Each operation runs on a fresh OV / QK pair (so the SVD is never cached), once to warm up and
 * then {@code repeats} times; the median and the minimum are printed in milliseconds.
 */
public final class FactoredMatrixBench {

    private static final int REPEATS = 3;

    private FactoredMatrixBench() {}

    /**
     * Runs the benchmark.
     *
     * @param args optional {@code layers heads d_model d_head}
     */
    public static void main(String[] args) {
        int[] dims = args.length == 4 ? Arrays.stream(args).mapToInt(Integer::parseInt).toArray()
                : new int[] {12, 12, 768, 64};
        Random random = new Random(0);
        try (NDManager manager = NDManager.newBaseManager()) {
            float scale = (float) (1 / Math.sqrt(dims[2]));
            NDArray wQ = randn(manager, random, scale, dims[0], dims[1], dims[2], dims[3]);
            NDArray wK = randn(manager, random, scale, dims[0], dims[1], dims[2], dims[3]);
            NDArray wV = randn(manager, random, scale, dims[0], dims[1], dims[2], dims[3]);
            NDArray wO = randn(manager, random, scale, dims[0], dims[1], dims[3], dims[2]);
            System.out.printf(Locale.ROOT, "weights [%d, %d, %d, %d], %d cores%n",
                    dims[0], dims[1], dims[2], dims[3], Runtime.getRuntime().availableProcessors());
            time("OV.ab() (full [L, H, D, D] product)", wV, wO, wQ, wK, (c) -> c.ov().ab());
            time("OV.norm() via ab() (dense Frobenius)", wV, wO, wQ, wK,
                    (c) -> c.ov().ab().square().sum(new int[] {2, 3}).sqrt());
            time("OV.s() (factored SVD, all heads)", wV, wO, wQ, wK, (c) -> c.ov().s());
            time("OV.norm() (from the SVD)", wV, wO, wQ, wK, (c) -> c.ov().norm());
            time("OV.eigenvalues()", wV, wO, wQ, wK, (c) -> c.ov().eigenvalues().real());
            for (CompositionScores.Mode mode : CompositionScores.Mode.values()) {
                time("CompositionScores.all(" + mode + ")", wV, wO, wQ, wK,
                        (c) -> CompositionScores.all(c.ov(), c.qk(), mode));
            }
        }
    }

    /** A fresh OV and QK pair, closed after each timed run. */
    private record Circuits(FactoredMatrix ov, FactoredMatrix qk) implements AutoCloseable {
        @Override
        public void close() {
            ov.close();
            qk.close();
        }
    }

    private static void time(String what, NDArray wV, NDArray wO, NDArray wQ, NDArray wK,
            Function<Circuits, NDArray> op) {
        double[] millis = new double[REPEATS + 1];
        for (int i = 0; i < millis.length; i++) {
            try (Circuits c = new Circuits(FactoredMatrix.ov(wV, wO), FactoredMatrix.qk(wQ, wK))) {
                long start = System.nanoTime();
                op.apply(c); // PyTorch CPU operations are synchronous
                millis[i] = (System.nanoTime() - start) / 1e6;
            }
        }
        double[] measured = Arrays.copyOfRange(millis, 1, millis.length);
        Arrays.sort(measured);
        System.out.printf(Locale.ROOT, "%-40s median %9.1f ms   min %9.1f ms%n", what,
                measured[measured.length / 2], measured[0]);
    }

    private static NDArray randn(NDManager manager, Random random, float scale, long... shape) {
        Shape s = new Shape(shape);
        float[] data = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian() * scale;
        }
        return manager.create(data, s);
    }
}
