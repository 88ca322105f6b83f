package org.lens4j.examples;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.lens4j.analysis.probes.LinearProbe;
import org.lens4j.analysis.probes.Penalty;
import org.lens4j.analysis.probes.ProbeOptions;
import org.lens4j.analysis.probes.ProbeTrainer;
import org.lens4j.analysis.probes.ProbingSet;
import org.lens4j.analysis.probes.ProbingSetCollector;
import org.lens4j.analysis.probes.TokenFeature;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;

/**
 * Times the two costly steps of probing: collecting activations from a model (a randomly initialised
 * GPT-2-small-shaped model, 4 layers, 128 tokens per sequence) and training probes on planted-direction
 * data of GPT-2 sizes (d = 768 residual stream, d = 3072 MLP neurons). Each case runs once to warm up,
 * then {@code REPEATS} times; the median is printed.
 */
public final class ProbeBench {

    private static final int REPEATS = 3;

    private ProbeBench() {}

    /**
     * Runs the benchmark.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        System.out.printf(Locale.ROOT, "%d cores, PyTorch threads %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("ai.djl.pytorch.num_threads", "default"));
        collection();
        for (int[] size : new int[][] {{4000, 64}, {4000, 768}, {8000, 3072}}) {
            for (Penalty penalty : List.of(Penalty.L2, Penalty.L1)) {
                training(size[0], size[1], penalty);
            }
        }
    }

    private static void collection() {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(4).dModel(768).nHeads(12).dHead(64)
                .dMlp(3072).dVocab(50257).nCtx(1024).actFn("gelu_new").seed(0L).build();
        Random rng = new Random(0);
        long[][] tokens = new long[32][128];
        for (long[] row : tokens) {
            for (int p = 0; p < row.length; p++) {
                row[p] = rng.nextInt(50257);
            }
        }
        try (HookedTransformer model = HookedTransformer.init(cfg)) {
            for (String hook : List.of("blocks.3.hook_resid_post", "blocks.3.mlp.hook_post", "blocks.0.hook_resid_post")) {
                ProbingSetCollector collector = new ProbingSetCollector(model, hook, TokenFeature.seenBefore())
                        .batchSize(8);
                double seconds = median(() -> collector.collect(tokens));
                System.out.printf(Locale.ROOT, "collect %-26s 32 x 128 tokens: %6.2f s (%5.0f rows/s)%n", hook, seconds,
                        32 * 128 / seconds);
            }
        }
    }

    private static void training(int n, int d, Penalty penalty) {
        Random rng = new Random(1);
        float[] u = new float[d];
        for (int j = 0; j < d; j++) {
            u[j] = (float) (rng.nextGaussian() / Math.sqrt(d));
        }
        float[][] x = new float[n][d];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 2;
            for (int j = 0; j < d; j++) {
                x[i][j] = (float) (rng.nextGaussian() + labels[i] * 1.5 * u[j]);
            }
        }
        ProbingSet set = ProbingSet.of("bench", "planted", List.of("no", "yes"), x, labels, new int[n], new int[n]);
        ProbeOptions options = ProbeOptions.builder().penalty(penalty).lambda(penalty == Penalty.L1 ? 0.01 : 1e-3)
                .build();
        LinearProbe[] last = new LinearProbe[1];
        double seconds = median(() -> last[0] = ProbeTrainer.train(set, options));
        int steps = Integer.parseInt(last[0].metadata().get("steps"));
        System.out.printf(Locale.ROOT, "train %s n = %5d, d = %4d: %6.2f s, %4d steps (%5.1f ms/step)%n", penalty, n, d,
                seconds, steps, 1000 * seconds / steps);
    }

    private static double median(Runnable job) {
        job.run();
        double[] t = new double[REPEATS];
        for (int r = 0; r < REPEATS; r++) {
            long start = System.nanoTime();
            job.run();
            t[r] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(t);
        return t[REPEATS / 2];
    }
}
