package org.lens4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;
import org.lens4j.analysis.circuits.CopyingScores;
import org.lens4j.analysis.circuits.SvdInterpreter;
import org.lens4j.analysis.dla.AnswerTokens;
import org.lens4j.analysis.dla.Attribution.Unit;
import org.lens4j.analysis.dla.DirectLogitAttribution;
import org.lens4j.analysis.lens.LogitLens;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.LabelledStack;
import org.lens4j.core.Slice;
import org.lens4j.core.StackOptions;

/**
 * Times the residual-stream analyses on a GPT-2-small-shaped model with random weights (12 layers,
 * d_model 768, 12 heads, d_mlp 3072, d_vocab 50257) and a batch of {@code batch x pos} random tokens
 * (default 4 x 64; pass {@code batch pos} to change). Each analysis runs once to warm up and then three
 * times; the median and minimum are printed in milliseconds. On a shared machine run it with
 * {@code -Dai.djl.pytorch.num_threads=1}: contended OpenMP threads make small libtorch operations ~50x slower.
 */
public final class AnalysisBench {

    private AnalysisBench() {}

    /**
     * Runs the benchmark.
     *
     * @param args optional {@code batch pos}
     */
    public static void main(String[] args) {
        int batch = args.length == 2 ? Integer.parseInt(args[0]) : 4;
        int pos = args.length == 2 ? Integer.parseInt(args[1]) : 64;
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(12).dModel(768).nHeads(12).dHead(64)
                .dMlp(3072).dVocab(50257).nCtx(1024).actFn("gelu_new").seed(0L).build();
        try (NDManager manager = NDManager.newBaseManager(); HookedTransformer model = HookedTransformer.init(cfg)) {
            NDArray tokens = manager.randomInteger(0, 50257, new Shape(batch, pos), DataType.INT64);
            System.out.printf(Locale.ROOT, "GPT-2-small shape, random weights, tokens [%d, %d], %d cores%n", batch, pos,
                    Runtime.getRuntime().availableProcessors());
            time("runWithCache (every hook)", () -> model.runWithCache(tokens));
            try (CachedRun run = model.runWithCache(tokens)) {
                ActivationCache cache = run.cache();
                StackOptions last = StackOptions.defaults().posSlice(Slice.index(-1));
                time("accumulatedResid(inclMid, applyLn), last pos",
                        () -> cache.accumulatedResid(last.inclMid(true).applyLn(true)));
                time("decomposeResid(applyLn), all positions", () -> cache.decomposeResid(
                        StackOptions.defaults().applyLn(true)));
                time("stackHeadResults, last pos (computes hook_result once)", () -> cache.stackHeadResults(last));
                AnswerTokens answer = AnswerTokens.difference(262, 257);
                for (Unit unit : Unit.values()) {
                    time("DirectLogitAttribution " + unit, () -> DirectLogitAttribution.compute(cache, answer, unit));
                }
                time("logitAttrs(stackNeuronResults) (TransformerLens's way)", () -> {
                    try (LabelledStack neurons = cache.stackNeuronResults(last)) {
                        return cache.logitAttrs(neurons.stack(), 262, 257, last);
                    }
                });
                time("LogitLens.run (25 layers, top 10)", () -> LogitLens.run(cache,
                        LogitLens.Options.defaults().targets(262)));
            }
            time("CopyingScores (144 heads)", () -> CopyingScores.compute(model));
            SvdInterpreter svd = new SvdInterpreter(model);
            time("SvdInterpreter OV (one head, 10 vectors)",
                    () -> svd.topTokens(SvdInterpreter.VectorType.OV, 5, 3, 10, 10));
            time("SvdInterpreter W_IN (one layer, 10 vectors)",
                    () -> svd.topTokens(SvdInterpreter.VectorType.W_IN, 5, null, 10, 10));
            time("SvdInterpreter W_OUT (one layer, 10 vectors)",
                    () -> svd.topTokens(SvdInterpreter.VectorType.W_OUT, 5, null, 10, 10));
        }
    }

    private static void time(String what, Supplier<Object> body) {
        release(body.get());
        long[] ms = new long[3];
        for (int i = 0; i < ms.length; i++) {
            long start = System.nanoTime();
            Object result = body.get();
            ms[i] = (System.nanoTime() - start) / 1_000_000;
            release(result);
        }
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%-58s median %7d ms   min %7d ms%n", what, ms[1], ms[0]);
    }

    private static void release(Object result) {
        if (result instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
