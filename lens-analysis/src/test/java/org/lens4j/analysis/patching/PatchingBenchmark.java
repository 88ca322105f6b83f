package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.Random;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;

/**
 * Patching sweeps on a random GPT-2-small-sized model with 1 x 20 tokens: the plain loop (one full forward
 * pass per patch, as TransformerLens) against the fast path. Prints a Markdown table for docs/performance.md
 * with wall-clock time and the process's CPU time (on a shared machine, CPU time with one PyTorch thread is
 * the time the work takes on one idle core).
 *
 * <p>Run: {@code java -cp <test classpath> -Dai.djl.pytorch.num_threads=1 org.lens4j.analysis.patching.PatchingBenchmark}
 */
public final class PatchingBenchmark {

    private static final OperatingSystemMXBean OS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private PatchingBenchmark() {}

    /** Wall and CPU seconds of a task. */
    private record Timing(double wall, double cpu) {
        static Timing of(Runnable task) {
            long w = System.nanoTime();
            long c = OS.getProcessCpuTime();
            task.run();
            return new Timing((System.nanoTime() - w) / 1e9, (OS.getProcessCpuTime() - c) / 1e9);
        }
    }

    /** Runs the benchmark and prints the table (no arguments). */
    public static void main(String[] args) {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(12).dModel(768).nHeads(12).dHead(64)
                .dMlp(3072).dVocab(50257).nCtx(1024).actFn("gelu_new").seed(0L).build();
        try (HookedTransformer model = HookedTransformer.init(cfg); NDManager m = NDManager.newBaseManager()) {
            Random random = new Random(0);
            long[] ids = new long[20];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(50257);
            }
            NDArray clean = m.create(new long[][] {ids});
            long[] corruptedIds = ids.clone();
            corruptedIds[4] = (ids[4] + 1234) % 50257;
            NDArray corrupted = m.create(new long[][] {corruptedIds});
            PatchingMetric metric = PatchingMetric.logitDiff(ids[19], corruptedIds[4]);

            // warm-up, then one plain forward pass
            for (int i = 0; i < 3; i++) {
                model.forward(corrupted).close();
            }
            int n = 10;
            Timing forward = Timing.of(() -> {
                for (int i = 0; i < n; i++) {
                    model.forward(corrupted).close();
                }
            });
            System.out.printf("load average at start: %.1f; one forward pass 1 x 20: %.0f ms wall, %.0f ms CPU%n",
                    OS.getSystemLoadAverage(), forward.wall() * 1000 / n, forward.cpu() * 1000 / n);

            System.out.println("| sweep | patches | plain loop: wall / CPU (s) | fast path: wall / CPU (s) "
                    + "| speed-up (CPU) | max abs diff |");
            System.out.println("|---|---|---|---|---|---|");
            try (CachedRun cleanRun = model.runWithCache(clean)) {
                for (PatchSweep sweep : new PatchSweep[] {PatchSweep.RESID_PRE, PatchSweep.ATTN_HEAD_OUT_ALL_POS}) {
                    PatchingOptions quiet = PatchingOptions.DEFAULT.withProgress(false);
                    PatchingResult[] out = new PatchingResult[2];
                    ActivationPatching fastPath = ActivationPatching.of(model, quiet);
                    ActivationPatching plainLoop = ActivationPatching.of(model, quiet.withFast(false));
                    fastPath.sweep(sweep, corrupted, cleanRun.cache(), metric); // warm-up
                    Timing fast = Timing.of(() -> out[0] = fastPath.sweep(sweep, corrupted, cleanRun.cache(), metric));
                    Timing plain = Timing.of(() -> out[1] = plainLoop.sweep(sweep, corrupted, cleanRun.cache(), metric));
                    double diff = 0;
                    for (int i = 0; i < out[0].values().length; i++) {
                        diff = Math.max(diff, Math.abs(out[0].values()[i] - out[1].values()[i]));
                    }
                    System.out.printf("| %s %s | %d | %.1f / %.1f | %.1f / %.1f | %.1fx | %.1e |%n",
                            sweep.activationName(), sweep.axisNames(), out[0].values().length, plain.wall(), plain.cpu(),
                            fast.wall(), fast.cpu(), plain.cpu() / fast.cpu(), diff);
                }
            }
            System.out.printf("load average at end: %.1f%n", OS.getSystemLoadAverage());
        }
    }
}
