package org.lens4j.analysis.ioi;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.lens4j.analysis.ioi.IoiRoles.Role;
import org.lens4j.analysis.patching.PatchingOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.tokens.Tokenizer;

/**
 * Main-method benchmark (not a unit test): {@link IoiRoles#compute} on a model of GPT-2 small's shape (12 layers,
 * 12 heads, d_model 768, d_vocab 50257; random weights, since the time does not depend on them) over the paper's
 * dataset built with the GPT-2 tokenizer. Prints the wall and process CPU time of each step and the peak resident
 * memory.
 *
 * <p>Run: {@code java -cp <lens-analysis test classpath> org.lens4j.analysis.ioi.IoiRolesBench [prompts]
 * [batchSize] [sInhibition]}; results go to {@code docs/ioi.md}.
 */
public final class IoiRolesBench {

    private IoiRolesBench() {}

    /** CPU time of the whole process (all threads, libtorch's included). */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /**
     * @param args optional number of prompts (default 30), batch size (default 16), whether to score
     *     S-inhibition (default true)
     * @throws IOException if /proc/self/status cannot be read
     */
    public static void main(String[] args) throws IOException {
        int prompts = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int batchSize = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        boolean sInhibition = args.length <= 2 || Boolean.parseBoolean(args[2]);
        System.out.printf(Locale.ROOT, "java %s, %d cores%n", System.getProperty("java.version"),
                Runtime.getRuntime().availableProcessors());
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(12).nHeads(12).dHead(64).dModel(768)
                .dMlp(3072).dVocab(50257).nCtx(1024).actFn("gelu_new").normalizationType(NormalizationType.LN)
                .seed(0L).build();
        long t0 = System.nanoTime();
        try (Tokenizer tokenizer = Gpt2Tokenizer.open(); HookedTransformer model = HookedTransformer.init(cfg)) {
            long t1 = System.nanoTime();
            IoiDataset data = IoiDataset.fromTokenizer(tokenizer).prompts(prompts).seed(0).build();
            long t2 = System.nanoTime();
            long cpu = cpuNanos();
            IoiRoles roles = IoiRoles.compute(model, data, IoiRolesOptions.DEFAULT.withBatchSize(batchSize)
                    .withPatching(PatchingOptions.DEFAULT.withProgress(false)).withSInhibition(sInhibition));
            long t3 = System.nanoTime();
            cpu = cpuNanos() - cpu;
            System.out.printf(Locale.ROOT, "init GPT-2-small-shaped model: %.1f s%n", (t1 - t0) / 1e9);
            System.out.printf(Locale.ROOT, "dataset, %d prompts, %d templates: %.2f s%n", data.size(),
                    data.templates().size(), (t2 - t1) / 1e9);
            System.out.printf(Locale.ROOT, "IoiRoles.compute (S-inhibition %s), %d batches (batch size %d): %.1f s wall, "
                    + "%.1f s process CPU%n", sInhibition ? "on" : "off", data.batches(batchSize).size(), batchSize,
                    (t3 - t2) / 1e9, cpu / 1e9);
            System.out.printf(Locale.ROOT, "%s; top name mover %s%n", roles, roles.get(Role.NAME_MOVER).argmax());
        }
        System.out.println(Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("VmHWM")).findFirst().orElse("VmHWM unknown"));
    }
}
