package org.lens4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lens bench}: times {@code forward} and {@code runWithCache} on a randomly initialised
 * GPT-2-small-sized model (or any size given by the options) and reports seconds and GFLOP/s.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time forward and runWithCache on a random GPT-2-small-sized model.")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--layers", defaultValue = "12")
    int layers;

    @Option(names = "--d-model", defaultValue = "768")
    int dModel;

    @Option(names = "--heads", defaultValue = "12")
    int heads;

    @Option(names = "--d-mlp", defaultValue = "3072")
    int dMlp;

    @Option(names = "--vocab", defaultValue = "50257")
    int vocab;

    @Option(names = "--batches", defaultValue = "1,8", split = ",", description = "Batch sizes (default ${DEFAULT-VALUE}).")
    int[] batches;

    @Option(names = "--seq", defaultValue = "128", description = "Tokens per sequence (default ${DEFAULT-VALUE}).")
    int seq;

    @Option(names = "--iterations", defaultValue = "10", description = "Timed runs per case (default ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--warmup", defaultValue = "3")
    int warmup;

    @Option(names = "--threads", defaultValue = "2", description = "PyTorch intra-op threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() {
        // Must be set before the engine starts.
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(layers).dModel(dModel).nHeads(heads)
                .dHead(dModel / heads).dMlp(dMlp).dVocab(vocab).nCtx(Math.max(1024, seq)).actFn("gelu_new")
                .seed(0L).build();
        System.out.printf("model: %d layers, d_model %d, %d heads, d_mlp %d, vocab %d; %d threads%n",
                layers, dModel, heads, dMlp, vocab, threads);
        System.out.println("| call | batch x pos | median s | min s | GFLOP | GFLOP/s (median) |");
        System.out.println("|---|---|---|---|---|---|");
        try (HookedTransformer model = HookedTransformer.init(cfg); NDManager manager = NDManager.newBaseManager()) {
            for (int batch : batches) {
                NDArray tokens = manager.randomInteger(0, vocab, new Shape(batch, seq), DataType.INT64);
                double gflop = flops(cfg, batch, seq) / 1e9;
                report("forward", batch, gflop, time(() -> model.forward(tokens).close()));
                report("runWithCache", batch, gflop, time(() -> {
                    try (CachedRun run = model.runWithCache(tokens)) {
                        run.logits().getShape();
                    }
                }));
                tokens.close();
            }
        }
        return 0;
    }

    private void report(String call, int batch, double gflop, double[] seconds) {
        double median = seconds[seconds.length / 2];
        System.out.printf("| %s | %d x %d | %.3f | %.3f | %.1f | %.1f |%n", call, batch, seq, median, seconds[0], gflop,
                gflop / median);
    }

    private double[] time(Runnable run) {
        for (int i = 0; i < warmup; i++) {
            run.run();
        }
        double[] s = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            run.run();
            s[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(s);
        return s;
    }

    /**
     * Multiply-add FLOPs of one forward pass: per token and layer 8 d_model^2 (Q, K, V, O projections),
     * 4 d_model d_mlp (MLP) and 4 pos d_model (scores and pattern-weighted values), plus 2 d_model vocab
     * for the unembedding.
     */
    static double flops(HookedTransformerConfig c, int batch, int pos) {
        double d = c.dModel();
        double perTokenLayer = 8 * d * c.nHeads() * c.dHead() + 4 * d * c.dMlp() + 4.0 * pos * c.nHeads() * c.dHead();
        return (double) batch * pos * (c.nLayers() * perTokenLayer + 2 * d * c.dVocabOut());
    }
}
