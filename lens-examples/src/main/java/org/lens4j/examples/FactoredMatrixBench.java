package org.lens4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
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
 * then {@code repeats} times; the median and the minimum wall time and the median CPU time of
 * the process (all threads, PyTorch's included) are printed in milliseconds. On a shared machine
 * the CPU time is the steadier number.
 */
public final class FactoredMatrixBench {

    private static final int REPEATS = 3;
    private static final OperatingSystemMXBean PROCESS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

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
            System.out.printf(Locale.ROOT, "weights [%d, %d, %d, %d], %d cores%n%n",
                    dims[0], dims[1], dims[2], dims[3], Runtime.getRuntime().availableProcessors());
            System.out.println("| operation | median wall ms | min wall ms | median CPU ms |");
            System.out.println("|---|---:|---:|---:|");
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
        double[] wall = new double[REPEATS];
        double[] cpu = new double[REPEATS];
        for (int i = -1; i < REPEATS; i++) {
            try (Circuits c = new Circuits(FactoredMatrix.ov(wV, wO), FactoredMatrix.qk(wQ, wK))) {
                long cpuStart = PROCESS.getProcessCpuTime();
                long start = System.nanoTime();
                op.apply(c); // PyTorch CPU operations are synchronous
                if (i >= 0) {
                    wall[i] = (System.nanoTime() - start) / 1e6;
                    cpu[i] = (PROCESS.getProcessCpuTime() - cpuStart) / 1e6;
                }
            }
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        System.out.printf(Locale.ROOT, "| %-38s | %9.0f | %9.0f | %9.0f |%n", what,
                wall[REPEATS / 2], wall[0], cpu[REPEATS / 2]);
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
