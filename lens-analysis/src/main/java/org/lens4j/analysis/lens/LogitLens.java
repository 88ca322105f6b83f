package org.lens4j.analysis.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;
import org.lens4j.analysis.Doubles;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LabelledStack;
import org.lens4j.core.Slice;
import org.lens4j.core.StackOptions;

/**
 * The logit lens (nostalgebraist 2020): unembed the residual stream as it stands after each layer, to see
 * what the model would predict if it stopped there. The stream is TransformerLens's
 * {@code accumulated_resid} ({@code 0_pre}, {@code 0_mid}, ..., {@code final_post}) at one position,
 * normalised as {@link Normalization} says, then multiplied by {@code W_U} and offset by {@code b_U}.
 *
 * <pre>{@code
 * LogitLensResult lens = LogitLens.run(cache, LogitLens.Options.defaults().topK(5).targets(answer));
 * lens.get("1_pre", 0).targetRank();
 * }</pre>
 */
public final class LogitLens {

    /** How each partial residual stream is normalised before unembedding. */
    public enum Normalization {
        /**
         * Apply {@code ln_final} (weight and bias included) with each entry's own statistics, so every row is
         * what the model would output from that residual stream and the {@code final_post} row equals the
         * model's logits. The classic logit lens, TransformerLens 2.18+'s {@code accumulated_resid(apply_ln=True)}.
         */
        RECOMPUTE,
        /**
         * Centre and divide by the final LayerNorm's cached scale (no weight or bias), TransformerLens 2.12's
         * {@code model.unembed(cache.accumulated_resid(apply_ln=True))}.
         */
        CACHED_SCALE
    }

    /** The options of a logit-lens run; immutable, each setter returns a copy. */
    public static final class Options {
        private static final Options DEFAULTS = new Options(-1, true, 10, null, Normalization.RECOMPUTE);

        private final int position;
        private final boolean inclMid;
        private final int topK;
        private final long[] targets;
        private final Normalization normalization;

        private Options(int position, boolean inclMid, int topK, long[] targets, Normalization normalization) {
            if (topK < 0) {
                throw new IllegalArgumentException("topK must be >= 0, not " + topK);
            }
            this.position = position;
            this.inclMid = inclMid;
            this.topK = topK;
            this.targets = targets == null ? null : targets.clone();
            this.normalization = normalization;
        }

        /** Last position, {@code resid_mid} included, top 10, no target, {@link Normalization#RECOMPUTE}. */
        public static Options defaults() {
            return DEFAULTS;
        }

        /** The position to read ({@code -1}, the default, is the last). */
        public Options position(int position) {
            return new Options(position, inclMid, topK, targets, normalization);
        }

        /** Whether to include {@code resid_mid} of each layer (default true; attention-only models have none). */
        public Options inclMid(boolean on) {
            return new Options(position, on, topK, targets, normalization);
        }

        /** How many top tokens to report per layer (default 10). */
        public Options topK(int k) {
            return new Options(position, inclMid, k, targets, normalization);
        }

        /** The target token whose rank and probability are reported: one per batch element, or one for all. */
        public Options targets(long... tokens) {
            return new Options(position, inclMid, topK, tokens, normalization);
        }

        /** How partial residual streams are normalised (default {@link Normalization#RECOMPUTE}). */
        public Options normalization(Normalization n) {
            return new Options(position, inclMid, topK, targets, java.util.Objects.requireNonNull(n, "normalization"));
        }

        /** The position. */
        public int position() {
            return position;
        }

        /** Whether {@code resid_mid} is included. */
        public boolean inclMid() {
            return inclMid;
        }

        /** The number of top tokens. */
        public int topK() {
            return topK;
        }

        /** The target tokens, or null. */
        public long[] targets() {
            return targets == null ? null : targets.clone();
        }

        /** The normalisation. */
        public Normalization normalization() {
            return normalization;
        }
    }

    private LogitLens() {}

    /**
     * The lens logits of every accumulated residual stream.
     *
     * @param cache a cache with batch dimension
     * @return {@code [layer, batch, d_vocab_out]} labelled {@code 0_pre, 0_mid, ..., final_post}, owned by the
     *     cache
     */
    public static LabelledStack logits(ActivationCache cache, Options o) {
        if (!cache.hasBatchDim()) {
            throw new IllegalArgumentException("the logit lens needs a cache with its batch dimension");
        }
        HookedTransformer model = cache.model();
        StackOptions stack = StackOptions.defaults().posSlice(Slice.index(o.position()))
                .inclMid(o.inclMid() && !model.config().attnOnly()).applyLn(true)
                .recomputeLn(o.normalization() == Normalization.RECOMPUTE);
        try (LabelledStack resid = cache.accumulatedResid(stack); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray logits = resid.stack().matMul(model.W_U()).add(model.b_U());
            NDScope.unregister(logits);
            logits.attach(cache.manager());
            return new LabelledStack(logits, resid.labels());
        }
    }

    /**
     * The logit lens report: per layer and batch element, the top-k tokens with their probabilities and the
     * target's rank (0 = the top token) and probability.
     */
    public static LogitLensResult run(ActivationCache cache, Options o) {
        try (LabelledStack lens = logits(cache, o)) {
            int layers = lens.size();
            int batch = (int) lens.stack().getShape().get(1);
            int vocab = (int) lens.stack().getShape().get(2);
            long[] targets = targetsFor(o.targets(), batch, vocab);
            double[] flat = Doubles.of(lens.stack());
            List<LensPrediction> predictions = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                for (int b = 0; b < batch; b++) {
                    double[] row = new double[vocab];
                    System.arraycopy(flat, (l * batch + b) * vocab, row, 0, vocab);
                    predictions.add(LensPrediction.of(lens.labels().get(l), b, row, o.topK(),
                            targets == null ? -1 : targets[b]));
                }
            }
            return new LogitLensResult(lens.labels(), batch, o.position(), predictions);
        }
    }

    private static long[] targetsFor(long[] targets, int batch, int vocab) {
        if (targets == null) {
            return null;
        }
        if (targets.length != 1 && targets.length != batch) {
            throw new IllegalArgumentException("logit lens: " + targets.length + " targets for a batch of " + batch
                    + " (give one per element, or one for all)");
        }
        long[] out = new long[batch];
        for (int b = 0; b < batch; b++) {
            out[b] = targets[targets.length == 1 ? 0 : b];
            if (out[b] < 0 || out[b] >= vocab) {
                throw new IllegalArgumentException("logit lens: target token " + out[b] + " is out of range [0, "
                        + vocab + ")");
            }
        }
        return out;
    }
}
