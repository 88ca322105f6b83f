package org.lens4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Load-time and peak-memory benchmark for {@link Safetensors#read} on a GPT-2-small-sized file (124M float32
 * parameters, about 498 MB, random values, Hugging Face GPT-2 tensor names and shapes). Results go in
 * {@code docs/weight-files.md}. Run each read in a fresh JVM so that the peak RSS belongs to that read:
 *
 * <pre>
 * java -cp CP org.lens4j.core.io.SafetensorsLoadBench write /tmp/gpt2-small.safetensors
 * java -Xmx1g -cp CP org.lens4j.core.io.SafetensorsLoadBench read /tmp/gpt2-small.safetensors lens4j 5
 * java -Xmx2g -cp CP org.lens4j.core.io.SafetensorsLoadBench read /tmp/gpt2-small.safetensors djl 5
 * </pre>
 */
public final class SafetensorsLoadBench {

    private SafetensorsLoadBench() {}

    /**
     * Runs the benchmark.
     *
     * @param args {@code write FILE}, or {@code read FILE lens4j|djl [REPEATS]}
     * @throws IOException if a file cannot be written or read
     */
    public static void main(String[] args) throws IOException {
        Path file = Path.of(args[1]);
        if ("write".equals(args[0])) {
            write(file);
            return;
        }
        boolean djl = "djl".equals(args[2]);
        int repeats = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        try (NDManager warmUp = NDManager.newBaseManager()) {
            // Load the native engine before timing anything.
            warmUp.create(1f).add(1f);
        }
        long rssBefore = procStatus("VmRSS");
        double[] seconds = new double[repeats];
        long parameters = 0;
        for (int r = 0; r < repeats; r++) {
            try (NDManager manager = NDManager.newBaseManager()) {
                long start = System.nanoTime();
                List<NDArray> arrays = djl ? decodeWithDjl(file, manager)
                        : List.copyOf(Safetensors.read(file, manager).values());
                seconds[r] = (System.nanoTime() - start) / 1e9;
                parameters = arrays.stream().mapToLong(a -> a.getShape().size()).sum();
            }
        }
        double[] sorted = seconds.clone();
        Arrays.sort(sorted);
        System.out.printf("reader=%s file=%.1f MB parameters=%d runs=%s%n", djl ? "djl NDList.decode" : "lens4j Safetensors",
                Files.size(file) / 1e6, parameters, Arrays.toString(round(seconds)));
        System.out.printf("load seconds: min %.3f median %.3f (%.0f MB/s at the median)%n", sorted[0],
                sorted[repeats / 2], Files.size(file) / 1e6 / sorted[repeats / 2]);
        System.out.printf("RSS before the first load (engine loaded) %d MB, peak RSS %d MB%n", rssBefore >> 10, procStatus("VmHWM") >> 10);
    }

    private static List<NDArray> decodeWithDjl(Path file, NDManager manager) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return NDList.decode(manager, in);
        }
    }

    private static void write(Path file) throws IOException {
        int layers = 12;
        int dModel = 768;
        Map<String, Shape> shapes = new LinkedHashMap<>();
        shapes.put("wte.weight", new Shape(50257, dModel));
        shapes.put("wpe.weight", new Shape(1024, dModel));
        for (int l = 0; l < layers; l++) {
            String h = "h." + l + ".";
            shapes.put(h + "ln_1.weight", new Shape(dModel));
            shapes.put(h + "ln_1.bias", new Shape(dModel));
            shapes.put(h + "attn.c_attn.weight", new Shape(dModel, 3 * dModel));
            shapes.put(h + "attn.c_attn.bias", new Shape(3 * dModel));
            shapes.put(h + "attn.c_proj.weight", new Shape(dModel, dModel));
            shapes.put(h + "attn.c_proj.bias", new Shape(dModel));
            shapes.put(h + "ln_2.weight", new Shape(dModel));
            shapes.put(h + "ln_2.bias", new Shape(dModel));
            shapes.put(h + "mlp.c_fc.weight", new Shape(dModel, 4 * dModel));
            shapes.put(h + "mlp.c_fc.bias", new Shape(4 * dModel));
            shapes.put(h + "mlp.c_proj.weight", new Shape(4 * dModel, dModel));
            shapes.put(h + "mlp.c_proj.bias", new Shape(dModel));
        }
        shapes.put("ln_f.weight", new Shape(dModel));
        shapes.put("ln_f.bias", new Shape(dModel));
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.getEngine().setRandomSeed(1);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            shapes.forEach((name, shape) -> tensors.put(name, manager.randomNormal(0, 0.02f, shape,
                    ai.djl.ndarray.types.DataType.FLOAT32)));
            long start = System.nanoTime();
            Safetensors.write(file, tensors, Map.of("format", "pt"));
            System.out.printf("wrote %s: %.1f MB, %d tensors, in %.2f s%n", file, Files.size(file) / 1e6,
                    tensors.size(), (System.nanoTime() - start) / 1e9);
        }
    }

    private static double[] round(double[] values) {
        return Arrays.stream(values).map(v -> Math.round(v * 1000) / 1000.0).toArray();
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
