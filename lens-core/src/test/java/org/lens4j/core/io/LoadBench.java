package org.lens4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;

/** Benchmark harness for weight loaders: wall time, process CPU time and peak RSS of repeated loads. */
public final class LoadBench {

    /** Loads every tensor of a file into a manager. */
    @FunctionalInterface
    public interface Loader {

        /**
         * Loads a file.
         *
         * @param file the weight file
         * @param manager the manager that owns the arrays
         * @return the arrays loaded
         * @throws IOException if loading fails
         */
        Collection<NDArray> load(Path file, NDManager manager) throws IOException;
    }

    private LoadBench() {}

    /**
     * Loads {@code file} {@code repeats} times, each into a fresh manager closed afterwards, and prints the
     * timings and the process's peak RSS (Linux). Run one reader per JVM so that the peak is its own.
     *
     * @param label what is measured
     * @param file the weight file
     * @param repeats how many loads
     * @param loader the reader
     * @throws IOException if loading fails
     */
    public static void run(String label, Path file, int repeats, Loader loader) throws IOException {
        try (NDManager warmUp = NDManager.newBaseManager()) {
            // Load the native engine before timing anything.
            warmUp.create(1f).add(1f);
        }
        long rssBefore = procStatus("VmRSS");
        double[] seconds = new double[repeats];
        double[] cpuSeconds = new double[repeats];
        long parameters = 0;
        for (int r = 0; r < repeats; r++) {
            try (NDManager manager = NDManager.newBaseManager()) {
                long cpuStart = processCpuNanos();
                long start = System.nanoTime();
                Collection<NDArray> arrays = loader.load(file, manager);
                seconds[r] = (System.nanoTime() - start) / 1e9;
                cpuSeconds[r] = (processCpuNanos() - cpuStart) / 1e9;
                parameters = arrays.stream().mapToLong(a -> a.getShape().size()).sum();
            }
        }
        double megabytes = Files.size(file) / 1e6;
        System.out.printf("reader=%s file=%.1f MB parameters=%d runs=%s%n", label, megabytes, parameters,
                Arrays.toString(Arrays.stream(seconds).map(v -> Math.round(v * 1000) / 1000.0).toArray()));
        Arrays.sort(seconds);
        System.out.printf("load seconds: min %.3f median %.3f (%.0f MB/s at the median)%n", seconds[0],
                seconds[repeats / 2], megabytes / seconds[repeats / 2]);
        // CPU time is less disturbed than wall time when other processes share the machine.
        Arrays.sort(cpuSeconds);
        System.out.printf("process CPU seconds per load: min %.3f median %.3f%n", cpuSeconds[0],
                cpuSeconds[repeats / 2]);
        System.out.printf("RSS before the first load (engine loaded) %d MB, peak RSS %d MB%n", rssBefore >> 10,
                procStatus("VmHWM") >> 10);
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** A line of /proc/self/status in kB (Linux). */
    private static long procStatus(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no " + field + " in /proc/self/status");
    }
}
