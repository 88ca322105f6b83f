package org.lens4j.models;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;

/**
 * Loading benchmark (a main, not a test): writes a GPT-2-small-sized Hugging Face checkpoint with random
 * weights (gpt2's own key names, layout and attention-mask buffers, 548 MB), then times
 * {@code HookedTransformer.fromPretrained(dir)} (read + convert + default processing) and
 * {@code fromPretrainedNoProcessing(dir)}, and measures the process's peak resident memory during each load
 * (Linux {@code VmHWM}, reset through {@code /proc/self/clear_refs} before each run) above what it held before.
 * Results go to docs/performance.md ("Loading").
 *
 * <pre>
 * ./mvnw -B -o -q -pl lens-models -am test-compile
 * ./mvnw -B -o -q -pl lens-models dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=cp.txt
 * java -Xmx1g -cp "lens-models/target/test-classes:lens-models/target/classes:lens-core/target/classes:$(cat cp.txt)" \
 *     org.lens4j.models.LoadingBench /tmp/bench default 5     (the first call writes the checkpoint)
 * ... LoadingBench /tmp/bench none 5
 * </pre>
 */
public final class LoadingBench {

    private static final int LAYERS = 12;
    private static final int D = 768;
    private static final int VOCAB = 50257;
    private static final int CTX = 1024;

    private LoadingBench() {}

    /**
     * Runs the benchmark: one mode per process, so the first load's peak memory is that of a fresh process.
     *
     * @param args the checkpoint directory (written if it holds no model.safetensors), the mode
     *     ({@code default}: fromPretrained, {@code none}: fromPretrainedNoProcessing) and the number of loads
     */
    public static void main(String[] args) throws IOException {
        Path dir = Files.createDirectories(Path.of(args[0]));
        boolean processed = args[1].equals("default");
        int runs = Integer.parseInt(args[2]);
        Path weights = dir.resolve("model.safetensors");
        if (!Files.exists(weights)) {
            writeGpt2Small(dir);
            System.out.println("wrote " + weights + "; run again to measure (in a process that did not write it)");
            return;
        }
        long fileBytes = Files.size(weights);
        try (NDManager warm = NDManager.newBaseManager()) {
            warm.ones(new ai.djl.ndarray.types.Shape(2, 2)).matMul(warm.ones(new ai.djl.ndarray.types.Shape(2, 2)));
        }
        LoadOptions options = processed ? LoadOptions.defaults() : LoadOptions.noProcessing();
        double[] seconds = new double[runs];
        double[] cpuSeconds = new double[runs];
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        double peakAbove = 0;
        double held = 0;
        for (int r = 0; r < runs; r++) {
            System.gc();
            long before = statusKb("VmRSS");
            resetPeak();
            long t0 = System.nanoTime();
            long cpu0 = os.getProcessCpuTime();
            try (HookedTransformer model = HookedTransformer.fromPretrained(dir, options)) {
                seconds[r] = (System.nanoTime() - t0) / 1e9;
                cpuSeconds[r] = (os.getProcessCpuTime() - cpu0) / 1e9;
                if (r == 0) {
                    peakAbove = (statusKb("VmHWM") - before) * 1024.0;
                    held = (statusKb("VmRSS") - before) * 1024.0;
                }
            }
        }
        phases(dir, options);
        System.out.printf("%s, %.1f MB file, load average %.1f: wall %s s (median %.2f s), process CPU %s s "
                        + "(median %.2f s); first load: peak RSS %.0f MB above the process before it = %.2f x the file, "
                        + "%.0f MB held by the model%n",
                processed ? "fromPretrained (default processing)" : "fromPretrainedNoProcessing", fileBytes / 1e6,
                os.getSystemLoadAverage(), fmt(seconds, "%.2f"), median(seconds), fmt(cpuSeconds, "%.2f"),
                median(cpuSeconds), peakAbove / 1e6, peakAbove / fileBytes, held / 1e6);
    }

    /** Times the steps of one load separately (the same calls ModelLoader makes), to show where time goes. */
    private static void phases(Path dir, LoadOptions options) throws IOException {
        long t0 = System.nanoTime();
        PretrainedConfig pc = PretrainedConfig.read(dir.resolve("config.json"), "gpt2");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, ai.djl.ndarray.NDArray> raw = CheckpointFiles.read(dir.resolve("model.safetensors"), manager);
            long t1 = System.nanoTime();
            Map<String, ai.djl.ndarray.NDArray> sd = pc.weightFormat().toTransformerLens(raw, pc.config());
            long t2 = System.nanoTime();
            try (HookedTransformer model = HookedTransformer.fromStateDict(pc.config(), sd, options.processing())) {
                long t3 = System.nanoTime();
                model.setTokenizer(PretrainedTokenizers.fromDirectory(dir, model.config()).open());
                long t4 = System.nanoTime();
                System.out.printf("  steps: read %.2f s, convert %.2f s, process + build %.2f s, tokenizer %.2f s%n",
                        (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
            }
        }
    }

    /** Streams random weights into model.safetensors without holding them in memory, and writes config.json. */
    static void writeGpt2Small(Path dir) throws IOException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("wte.weight", new long[] {VOCAB, D});
        shapes.put("wpe.weight", new long[] {CTX, D});
        for (int l = 0; l < LAYERS; l++) {
            String p = "h." + l + ".";
            shapes.put(p + "ln_1.weight", new long[] {D});
            shapes.put(p + "ln_1.bias", new long[] {D});
            shapes.put(p + "attn.bias", new long[] {1, 1, CTX, CTX});
            shapes.put(p + "attn.c_attn.weight", new long[] {D, 3 * D});
            shapes.put(p + "attn.c_attn.bias", new long[] {3 * D});
            shapes.put(p + "attn.c_proj.weight", new long[] {D, D});
            shapes.put(p + "attn.c_proj.bias", new long[] {D});
            shapes.put(p + "ln_2.weight", new long[] {D});
            shapes.put(p + "ln_2.bias", new long[] {D});
            shapes.put(p + "mlp.c_fc.weight", new long[] {D, 4 * D});
            shapes.put(p + "mlp.c_fc.bias", new long[] {4 * D});
            shapes.put(p + "mlp.c_proj.weight", new long[] {4 * D, D});
            shapes.put(p + "mlp.c_proj.bias", new long[] {D});
        }
        shapes.put("ln_f.weight", new long[] {D});
        shapes.put("ln_f.bias", new long[] {D});
        JsonObject header = new JsonObject();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long bytes = 4 * Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", "F32");
            com.google.gson.JsonArray shape = new com.google.gson.JsonArray();
            Arrays.stream(e.getValue()).forEach(shape::add);
            entry.add("shape", shape);
            com.google.gson.JsonArray offsets = new com.google.gson.JsonArray();
            offsets.add(offset);
            offsets.add(offset + bytes);
            entry.add("data_offsets", offsets);
            header.add(e.getKey(), entry);
            offset += bytes;
        }
        JsonObject metadata = new JsonObject();
        metadata.addProperty("format", "pt");
        header.add("__metadata__", metadata);
        StringBuilder json = new StringBuilder(header.toString());
        while ((json.length() + 8) % 8 != 0) {
            json.append(' ');
        }
        byte[] headerBytes = json.toString().getBytes(StandardCharsets.UTF_8);
        SplittableRandom random = new SplittableRandom(42);
        try (FileChannel out = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).flip();
            out.write(prefix);
            out.write(ByteBuffer.wrap(headerBytes));
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                boolean ones = e.getKey().endsWith("ln_1.weight") || e.getKey().endsWith("ln_2.weight")
                        || e.getKey().equals("ln_f.weight");
                long count = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
                for (long i = 0; i < count; i++) {
                    if (!chunk.hasRemaining()) {
                        write(out, chunk);
                    }
                    chunk.putFloat(ones ? 1f : (float) ((random.nextDouble() - 0.5) * 0.04));
                }
            }
            write(out, chunk);
        }
        JsonObject config = new JsonObject();
        config.addProperty("model_type", "gpt2");
        com.google.gson.JsonArray architectures = new com.google.gson.JsonArray();
        architectures.add("GPT2LMHeadModel");
        config.add("architectures", architectures);
        config.addProperty("activation_function", "gelu_new");
        config.addProperty("n_embd", D);
        config.addProperty("n_head", 12);
        config.addProperty("n_layer", LAYERS);
        config.addProperty("n_ctx", CTX);
        config.addProperty("n_positions", CTX);
        config.addProperty("layer_norm_epsilon", 1e-5);
        config.addProperty("vocab_size", VOCAB);
        Files.writeString(dir.resolve("config.json"), config.toString(), StandardCharsets.UTF_8);
    }

    private static void write(FileChannel out, ByteBuffer chunk) throws IOException {
        chunk.flip();
        while (chunk.hasRemaining()) {
            out.write(chunk);
        }
        chunk.clear();
    }

    /** A field of /proc/self/status in kB. */
    private static long statusKb(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no " + field + " in /proc/self/status (Linux only)");
    }

    /** Resets VmHWM to the current RSS (Linux 4.0+). */
    private static void resetPeak() throws IOException {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    private static String fmt(double[] values, String format) {
        List<String> out = new ArrayList<>();
        for (double v : values) {
            out.add(String.format(format, v));
        }
        return out.toString();
    }
}
