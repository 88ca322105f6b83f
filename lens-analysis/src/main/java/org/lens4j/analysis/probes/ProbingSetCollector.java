package org.lens4j.analysis.probes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.tokens.Tokenizer;

/**
 * Builds a {@link ProbingSet}: runs a model over token sequences, reads the activation at one hook at
 * the chosen positions, and labels each position with a {@link TokenFeature}.
 *
 * <p>Any hook whose activation is per position works: {@code [batch, pos, ...]} with the trailing axes
 * flattened into the probe's input, e.g. {@code hook_resid_post [batch, pos, d_model]},
 * {@code mlp.hook_post [batch, pos, d_mlp]} (MLP neurons), {@code attn.hook_z [batch, pos, n_heads,
 * d_head]} (flattened to {@code n_heads * d_head}), {@code hook_attn_out}. Attention patterns and scores
 * are per (query, key) pair, not per position, and are refused.
 *
 * <pre>{@code
 * ProbingSet set = new ProbingSetCollector(model, "blocks.1.hook_resid_post", TokenFeature.seenBefore())
 *         .positions(Positions.from(1))
 *         .collect(tokens);   // long[batch][pos]
 * }</pre>
 *
 * <p>The forward pass stops after the hook's block, and the activations are copied to the Java heap
 * batch by batch, so native memory stays flat however many sequences are collected.
 */
public final class ProbingSetCollector {

    private final HookedTransformer model;
    private final String hook;
    private final TokenFeature feature;
    private Positions positions = Positions.all();
    private int batchSize = 32;

    /**
     * @param model the model to run; its hooks are left as they were
     * @param hook a hook point name, full or shorthand ({@code "resid_post1"}... as {@code get_act_name})
     * @param feature the labels
     * @throws IllegalArgumentException if the hook is not a per-position activation
     * @throws org.lens4j.core.HookException if the model has no such hook point (with the closest names)
     */
    public ProbingSetCollector(HookedTransformer model, String hook, TokenFeature feature) {
        this.model = Objects.requireNonNull(model, "model");
        this.feature = Objects.requireNonNull(feature, "feature");
        this.hook = model.hookPoint(Objects.requireNonNull(hook, "hook")).name();
        if (this.hook.endsWith("hook_pattern") || this.hook.endsWith("hook_attn_scores")) {
            throw new IllegalArgumentException("hook '" + this.hook + "' is per (query, key) pair, not per position: "
                    + "probe attn.hook_z, hook_attn_out or the residual stream instead");
        }
        if (feature.numClasses() < 2) {
            throw new IllegalArgumentException("feature '" + feature.name() + "' needs at least two classes");
        }
    }

    /** Which positions of each sequence to use (default all). */
    public ProbingSetCollector positions(Positions p) {
        positions = Objects.requireNonNull(p, "positions");
        return this;
    }

    /** Sequences per forward pass (default 32). */
    public ProbingSetCollector batchSize(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, not " + n);
        }
        batchSize = n;
        return this;
    }

    /**
     * Collects from token sequences; sequence {@code i} gets id {@code i}.
     *
     * @param tokens {@code [batch][pos]} token ids; rows may differ in length
     */
    public ProbingSet collect(long[][] tokens) {
        return collect(Arrays.asList(tokens));
    }

    /**
     * Collects from a batch of tokens.
     *
     * @param tokens integer tokens {@code [batch, pos]}
     */
    public ProbingSet collect(NDArray tokens) {
        Shape s = tokens.getShape();
        if (s.dimension() != 2 || !tokens.getDataType().isInteger()) {
            throw new IllegalArgumentException("tokens must be integer [batch, pos], not " + tokens.getDataType() + " "
                    + s);
        }
        long[] flat = tokens.toType(DataType.INT64, false).toLongArray();
        int batch = (int) s.get(0);
        int pos = (int) s.get(1);
        long[][] rows = new long[batch][];
        for (int b = 0; b < batch; b++) {
            rows[b] = Arrays.copyOfRange(flat, b * pos, (b + 1) * pos);
        }
        return collect(rows);
    }

    /**
     * Collects from texts, tokenised with the model's tokenizer (BOS prepended as the model's
     * {@code default_prepend_bos} says); text {@code i} is sequence {@code i}.
     *
     * @throws IllegalStateException if the model has no tokenizer
     */
    public ProbingSet collectTexts(List<String> texts) {
        Tokenizer tokenizer = model.tokenizer();
        if (tokenizer == null) {
            throw new IllegalStateException("collecting from texts needs a tokenizer: call model.setTokenizer(...)");
        }
        List<long[]> rows = new ArrayList<>();
        for (String text : texts) {
            rows.add(tokenizer.toTokens(text, model.config().defaultPrependBos()));
        }
        return collect(rows);
    }

    private ProbingSet collect(List<long[]> sequences) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("no sequences to collect from");
        }
        Rows rows = new Rows();
        int start = 0;
        while (start < sequences.size()) {
            // a batch: consecutive sequences of equal length, at most batchSize
            int length = sequences.get(start).length;
            int end = start + 1;
            while (end < sequences.size() && end - start < batchSize && sequences.get(end).length == length) {
                end++;
            }
            collectBatch(sequences, start, end, rows);
            start = end;
        }
        if (rows.labels.isEmpty()) {
            throw new IllegalArgumentException("feature '" + feature.name() + "' at positions " + positions
                    + " selected no position in " + sequences.size() + " sequences");
        }
        return ProbingSet.create(hook, feature.name(), feature.classNames(), rows.dim, rows.activations(),
                rows.labels.stream().mapToInt(Integer::intValue).toArray(),
                rows.sequences.stream().mapToInt(Integer::intValue).toArray(),
                rows.positions.stream().mapToInt(Integer::intValue).toArray());
    }

    private void collectBatch(List<long[]> sequences, int start, int end, Rows rows) {
        int length = sequences.get(start).length;
        if (length == 0) {
            throw new IllegalArgumentException("sequence " + start + " is empty");
        }
        int[][] selected = new int[end - start][];
        int[][] labels = new int[end - start][];
        boolean any = false;
        for (int b = start; b < end; b++) {
            long[] seq = sequences.get(b);
            int[] l = feature.labels(seq.clone());
            if (l == null || l.length != length) {
                throw new IllegalStateException("feature '" + feature.name() + "' gave " + (l == null ? "no" : l.length)
                        + " labels for sequence " + b + " of " + length + " tokens");
            }
            labels[b - start] = l;
            selected[b - start] = Arrays.stream(positions.select(length)).filter(p -> l[p] != TokenFeature.SKIP)
                    .toArray();
            any |= selected[b - start].length > 0;
        }
        if (!any) {
            return;
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray input = m.create(sequences.subList(start, end).toArray(new long[0][]));
            NDArray act = HookActivations.read(model, input, hook, m);
            Shape s = act.getShape();
            float[] values = act.toType(DataType.FLOAT32, false).toFloatArray();
            if (s.dimension() < 2 || s.get(0) != end - start || s.get(1) != length) {
                throw new IllegalArgumentException("activation at " + hook + " has shape " + s + ", not [batch, pos, ...]"
                        + " = [" + (end - start) + ", " + length + ", ...]");
            }
            int dim = (int) (s.size() / (s.get(0) * s.get(1)));
            rows.setDim(dim, hook);
            for (int b = start; b < end; b++) {
                for (int p : selected[b - start]) {
                    int from = ((b - start) * length + p) * dim;
                    rows.add(values, from, labels[b - start][p], b, p);
                }
            }
        }
    }

    /** Collected rows, growing. */
    private static final class Rows {
        private float[] data = new float[1024];
        private int used;
        private int dim = -1;
        private final List<Integer> labels = new ArrayList<>();
        private final List<Integer> sequences = new ArrayList<>();
        private final List<Integer> positions = new ArrayList<>();

        void setDim(int d, String hook) {
            if (dim != -1 && dim != d) {
                throw new IllegalStateException("activation at " + hook + " changed size from " + dim + " to " + d);
            }
            dim = d;
        }

        void add(float[] source, int from, int label, int sequence, int position) {
            if (used + dim > data.length) {
                data = Arrays.copyOf(data, Math.max(data.length * 2, used + dim));
            }
            System.arraycopy(source, from, data, used, dim);
            used += dim;
            labels.add(label);
            sequences.add(sequence);
            positions.add(position);
        }

        float[] activations() {
            return Arrays.copyOf(data, used);
        }
    }
}
