package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.lens4j.core.ActNames;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.Hook;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.ReturnType;

/**
 * Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in GPT", ROME): corrupt the
 * subject by adding Gaussian noise to its token embeddings ({@code hook_embed}), then restore one clean
 * state (a layer's output at one position), or a window of k consecutive layers' MLP or attention outputs,
 * and see how much of the clean prediction comes back.
 *
 * <p>As in ROME, the prompt is run as a batch of {@code samples} noisy copies, each with its own noise, and
 * the metric (by default the probability of the answer at the last position, {@link #answerProbability})
 * averages over them. The noise is {@code noiseStd * N(0, 1)} from {@code java.util.Random(seed)}, drawn in
 * the order {@code [sample][subject token][d_model]}, the same for every restoration.
 *
 * <pre>{@code
 * CausalTracing.Trace t = CausalTracing.builder(model).kind(Kind.MLP).window(10).build()
 *         .trace(tokens, subjectStart, subjectEnd, CausalTracing.answerProbability(answer));
 * t.scores();   // [layer, pos]
 * }</pre>
 */
public final class CausalTracing {

    /** Which state is restored. */
    public enum Kind {
        /** A block's output, {@code hook_resid_post} (ROME's hidden state). */
        RESID("resid_post"),
        /** An MLP output, {@code hook_mlp_out}. */
        MLP("mlp_out"),
        /** An attention output, {@code hook_attn_out}. */
        ATTN("attn_out");

        private final String activation;

        Kind(String activation) {
            this.activation = activation;
        }

        /** The short activation name, e.g. {@code resid_post}. */
        public String activation() {
            return activation;
        }
    }

    /**
     * The result of a trace.
     *
     * @param scores the metric with the state at each {@code [layer, pos]} restored
     * @param cleanScore the metric without noise
     * @param corruptedScore the metric with noise and nothing restored
     */
    public record Trace(PatchingResult scores, double cleanScore, double corruptedScore) {}

    private final HookedTransformer model;
    private final double noiseStd;
    private final int samples;
    private final long seed;
    private final int window;
    private final Kind kind;
    private final PatchingOptions options;

    private CausalTracing(Builder b) {
        this.model = b.model;
        this.noiseStd = b.noiseStd == null ? 3 * embeddingStd(b.model) : b.noiseStd;
        this.samples = b.samples;
        this.seed = b.seed;
        this.window = b.window;
        this.kind = b.kind;
        this.options = b.options;
    }

    /** A builder with ROME's defaults: noise 3 x {@link #embeddingStd}, 10 samples, seed 1, window 1, block outputs. */
    public static Builder builder(HookedTransformer model) {
        return new Builder(model);
    }

    /** The standard deviation of the token embedding's entries ({@code W_E}), ROME's noise unit. */
    public static double embeddingStd(HookedTransformer model) {
        NDArray wE = model.W_E();
        try (NDManager m = wE.getManager().newSubManager()) {
            NDArray w = wE.toType(DataType.FLOAT64, true);
            w.attach(m);
            NDArray centred = w.sub(w.mean());
            return Math.sqrt(centred.pow(2).sum().getDouble() / (w.size() - 1));
        }
    }

    /** The probability of {@code answer} at the last position, averaged over the batch (ROME's score). */
    public static PatchingMetric answerProbability(long answer) {
        return PatchingMetric.lastPosition(last -> {
            long vocab = last.getShape().get(1);
            if (answer < 0 || answer >= vocab) {
                throw new IllegalArgumentException("answer token " + answer + " is out of range for d_vocab_out = " + vocab);
            }
            return last.softmax(-1).get(new NDIndex(":, {}", answer)).mean();
        });
    }

    /**
     * Traces a prompt.
     *
     * @param tokens one prompt, {@code [pos]} or {@code [1, pos]}
     * @param subjectStart first subject position (inclusive)
     * @param subjectEnd last subject position (exclusive)
     * @param metric a metric of the logits of the {@code samples} noisy copies
     * @return the scores {@code [layer, pos]} and the clean and corrupted baselines
     */
    public Trace trace(NDArray tokens, int subjectStart, int subjectEnd, PatchingMetric metric) {
        Shape one = PatchRunner.tokensShape(tokens);
        if (one.get(0) != 1) {
            throw new IllegalArgumentException("causal tracing takes one prompt, not a batch of " + one.get(0));
        }
        long nPositions = one.get(1);
        if (subjectStart < 0 || subjectEnd > nPositions || subjectStart >= subjectEnd) {
            throw new IllegalArgumentException("subject positions [" + subjectStart + ", " + subjectEnd
                    + ") are not a non-empty range inside the " + nPositions + " positions");
        }
        int nLayers = model.config().nLayers();
        if (kind != Kind.RESID && kind != Kind.ATTN && model.config().attnOnly()) {
            throw new IllegalArgumentException("the model is attention-only: it has no " + kind.activation());
        }
        try (NDManager m = tokens.getManager().newSubManager()) {
            NDArray batch = PatchRunner.copyTokens(tokens, m).repeat(0, samples);
            NDArray noise = noise(subjectEnd - subjectStart, m);
            Hook corrupt = Hook.of("hook_embed", (emb, hp) -> {
                NDArray out = emb.duplicate();
                NDIndex subject = new NDIndex(":, {}:{}", subjectStart, subjectEnd);
                out.set(subject, emb.get(subject).add(noise));
                return out;
            });
            PatchRunner clean = new PatchRunner(model, options);
            PatchRunner noisy = new PatchRunner(model, options, List.of(corrupt));
            ActivationCache restored = cleanStates(batch, m);
            PatchRegion atPosition = new PatchRegion(1);
            List<PatchRunner.Variant> variants = new ArrayList<>();
            for (int l = 0; l < nLayers; l++) {
                for (int p = 0; p < nPositions; p++) {
                    List<PatchRunner.Edit> edits = new ArrayList<>();
                    // ROME's window: layers [l - window/2, l + ceil(window/2)) inside the model
                    for (int w = Math.max(0, l - window / 2); w < Math.min(nLayers, l + (window + 1) / 2); w++) {
                        String hook = ActNames.getActName(kind.activation(), w);
                        edits.add(PatchRunner.Edit.region(hook, atPosition, new int[] {w, p},
                                restored.get(hook)));
                    }
                    variants.add(new PatchRunner.Variant(edits));
                }
            }
            double[] scores = noisy.metrics(batch, variants, metric, "causal tracing");
            PatchingResult result = new PatchingResult(scores, new long[] {nLayers, nPositions}, List.of("layer", "pos"));
            return new Trace(result, clean.baseMetric(batch, metric), noisy.baseMetric(batch, metric));
        }
    }

    /** {@code noiseStd * N(0, 1)}, {@code [samples, subject length, d_model]}, in the documented order. */
    private NDArray noise(int length, NDManager m) {
        int d = model.config().dModel();
        Random random = new Random(seed);
        double[] values = new double[samples * length * d];
        for (int i = 0; i < values.length; i++) {
            values[i] = noiseStd * random.nextGaussian();
        }
        return m.create(values, new Shape(samples, length, d)).toType(model.config().dtype(), false);
    }

    /** The clean run's states of the traced kind, for the batch of identical prompts. */
    private ActivationCache cleanStates(NDArray batch, NDManager m) {
        String suffix = "hook_" + kind.activation();
        CacheOptions options = CacheOptions.filter(n -> n.endsWith(suffix))
                .withForward(ForwardOptions.builder().returnType(ReturnType.NONE).build());
        try (CachedRun run = model.runWithCache(batch, options)) {
            ActivationCache states = new ActivationCache(model, m);
            for (String name : run.cache().keys()) {
                states.put(name, run.cache().get(name).duplicate());
            }
            return states;
        }
    }

    /** Builder of {@link CausalTracing}. */
    public static final class Builder {
        private final HookedTransformer model;
        private Double noiseStd;
        private int samples = 10;
        private long seed = 1;
        private int window = 1;
        private Kind kind = Kind.RESID;
        private PatchingOptions options = PatchingOptions.DEFAULT;

        private Builder(HookedTransformer model) {
            this.model = model;
        }

        /** The noise's standard deviation (default 3 x {@link #embeddingStd}). */
        public Builder noiseStd(double v) {
            if (!(v >= 0) || !Double.isFinite(v)) {
                throw new IllegalArgumentException("noiseStd must be finite and >= 0, not " + v);
            }
            noiseStd = v;
            return this;
        }

        /** How many noisy copies of the prompt (default 10). */
        public Builder samples(int v) {
            if (v < 1) {
                throw new IllegalArgumentException("samples must be >= 1, not " + v);
            }
            samples = v;
            return this;
        }

        /** The noise seed (default 1). */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** How many consecutive layers each restoration covers, centred as in ROME (default 1). */
        public Builder window(int v) {
            if (v < 1) {
                throw new IllegalArgumentException("window must be >= 1, not " + v);
            }
            window = v;
            return this;
        }

        /** Which states to restore (default block outputs). */
        public Builder kind(Kind v) {
            kind = java.util.Objects.requireNonNull(v, "kind");
            return this;
        }

        /** Patching options (fast path, progress bar, memory). */
        public Builder options(PatchingOptions v) {
            options = java.util.Objects.requireNonNull(v, "options");
            return this;
        }

        /** The tracer. */
        public CausalTracing build() {
            return new CausalTracing(this);
        }
    }
}
