package org.lens4j.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The keyword arguments of {@link ActivationCache}'s residual-stream methods ({@code accumulated_resid},
 * {@code decompose_resid}, {@code stack_head_results}, ...), with TransformerLens's names and defaults.
 * Immutable: each setter returns a copy.
 *
 * <pre>{@code
 * LabelledStack resid = cache.accumulatedResid(StackOptions.defaults().inclMid(true).applyLn(true)
 *         .posSlice(Slice.index(-1)));
 * }</pre>
 *
 * <p>Each method takes only the options TransformerLens's method takes; setting another one is an error
 * that names it, so a misplaced option never goes silently unused.
 */
public final class StackOptions {

    /** Which sublayer outputs {@code decomposeResid} returns, TransformerLens's {@code mode}. */
    public enum DecomposeMode {
        /** Attention and MLP outputs ({@code "all"}). */
        ALL,
        /** MLP outputs only ({@code "mlp"}). */
        MLP,
        /** Attention outputs only ({@code "attn"}). */
        ATTN
    }

    /** The options, by their lens4j (camel-case TransformerLens) name. */
    enum Option {
        LAYER("layer"), MLP_INPUT("mlpInput"), APPLY_LN("applyLn"), RECOMPUTE_LN("recomputeLn"),
        POS_SLICE("posSlice"), BATCH_SLICE("batchSlice"), NEURON_SLICE("neuronSlice"), INCL_MID("inclMid"),
        MODE("mode"), INCL_EMBEDS("inclEmbeds"), INCL_REMAINDER("inclRemainder"), EXPAND_NEURONS("expandNeurons"),
        HAS_BATCH_DIM("hasBatchDim");

        final String label;

        Option(String label) {
            this.label = label;
        }
    }

    private static final StackOptions DEFAULTS = new StackOptions();

    private Integer layer;
    private boolean mlpInput;
    private boolean applyLn;
    private boolean recomputeLn;
    private Slice posSlice = Slice.all();
    private Slice batchSlice = Slice.all();
    private Slice neuronSlice = Slice.all();
    private boolean inclMid;
    private DecomposeMode mode = DecomposeMode.ALL;
    private boolean inclEmbeds = true;
    private boolean inclRemainder;
    private boolean expandNeurons = true;
    private boolean hasBatchDim = true;
    private final EnumSet<Option> set = EnumSet.noneOf(Option.class);

    private StackOptions() {}

    private StackOptions copy(Option changed) {
        StackOptions c = new StackOptions();
        c.layer = layer;
        c.mlpInput = mlpInput;
        c.applyLn = applyLn;
        c.recomputeLn = recomputeLn;
        c.posSlice = posSlice;
        c.batchSlice = batchSlice;
        c.neuronSlice = neuronSlice;
        c.inclMid = inclMid;
        c.mode = mode;
        c.inclEmbeds = inclEmbeds;
        c.inclRemainder = inclRemainder;
        c.expandNeurons = expandNeurons;
        c.hasBatchDim = hasBatchDim;
        c.set.addAll(set);
        c.set.add(changed);
        return c;
    }

    /** TransformerLens's defaults: all layers, all positions, no LayerNorm scaling. */
    public static StackOptions defaults() {
        return DEFAULTS;
    }

    /**
     * The layer whose input is decomposed: components up to (not including) it. {@code null} or {@code -1}
     * (the default) is {@code n_layers}, the input of the unembedding.
     */
    public StackOptions layer(Integer layer) {
        StackOptions c = copy(Option.LAYER);
        c.layer = layer;
        return c;
    }

    /** Decompose the input of the layer's MLP (after its attention) rather than of its attention. */
    public StackOptions mlpInput(boolean on) {
        StackOptions c = copy(Option.MLP_INPUT);
        c.mlpInput = on;
        return c;
    }

    /**
     * Scale the stack as the LayerNorm feeding {@code layer} would: centre it (LN models) and divide by that
     * LayerNorm's cached {@code hook_scale}, without its weight and bias.
     */
    public StackOptions applyLn(boolean on) {
        StackOptions c = copy(Option.APPLY_LN);
        c.applyLn = on;
        return c;
    }

    /**
     * With {@code applyLn} at the unembedding: apply {@code ln_final} (weight and bias included) to each
     * component with its own statistics instead of the cached scale — TransformerLens 2.18's
     * {@code recompute_ln}, the classic logit lens.
     */
    public StackOptions recomputeLn(boolean on) {
        StackOptions c = copy(Option.RECOMPUTE_LN);
        c.recomputeLn = on;
        return c;
    }

    /** The positions to keep ({@code pos_slice}); {@code Slice.index(-1)} keeps the last and drops the axis. */
    public StackOptions posSlice(Slice slice) {
        StackOptions c = copy(Option.POS_SLICE);
        c.posSlice = Objects.requireNonNull(slice, "posSlice");
        return c;
    }

    /** The batch elements to keep ({@code batch_slice}). */
    public StackOptions batchSlice(Slice slice) {
        StackOptions c = copy(Option.BATCH_SLICE);
        c.batchSlice = Objects.requireNonNull(slice, "batchSlice");
        return c;
    }

    /** The neurons to keep in each MLP layer ({@code neuron_slice}); the neuron axis is always kept. */
    public StackOptions neuronSlice(Slice slice) {
        StackOptions c = copy(Option.NEURON_SLICE);
        c.neuronSlice = Objects.requireNonNull(slice, "neuronSlice");
        return c;
    }

    /** Also return {@code resid_mid} of each earlier layer ({@code incl_mid}). */
    public StackOptions inclMid(boolean on) {
        StackOptions c = copy(Option.INCL_MID);
        c.inclMid = on;
        return c;
    }

    /** Which sublayer outputs to return ({@code mode}). */
    public StackOptions mode(DecomposeMode mode) {
        StackOptions c = copy(Option.MODE);
        c.mode = Objects.requireNonNull(mode, "mode");
        return c;
    }

    /** Include {@code embed} and {@code pos_embed} ({@code incl_embeds}, default true). */
    public StackOptions inclEmbeds(boolean on) {
        StackOptions c = copy(Option.INCL_EMBEDS);
        c.inclEmbeds = on;
        return c;
    }

    /** Append {@code "remainder"}: the residual stream minus the sum of the other components. */
    public StackOptions inclRemainder(boolean on) {
        StackOptions c = copy(Option.INCL_REMAINDER);
        c.inclRemainder = on;
        return c;
    }

    /** One component per MLP neuron rather than per MLP layer ({@code expand_neurons}, default true). */
    public StackOptions expandNeurons(boolean on) {
        StackOptions c = copy(Option.EXPAND_NEURONS);
        c.expandNeurons = on;
        return c;
    }

    /** Whether the stack passed to {@code applyLnToStack}/{@code logitAttrs} has a batch axis (default true). */
    public StackOptions hasBatchDim(boolean on) {
        StackOptions c = copy(Option.HAS_BATCH_DIM);
        c.hasBatchDim = on;
        return c;
    }

    /** The layer option as given ({@code null} means all layers). */
    public Integer layer() {
        return layer;
    }

    /** Whether the MLP input is decomposed. */
    public boolean mlpInput() {
        return mlpInput;
    }

    /** Whether LayerNorm scaling is applied. */
    public boolean applyLn() {
        return applyLn;
    }

    /** Whether the final LayerNorm is recomputed per component. */
    public boolean recomputeLn() {
        return recomputeLn;
    }

    /** The position slice. */
    public Slice posSlice() {
        return posSlice;
    }

    /** The batch slice. */
    public Slice batchSlice() {
        return batchSlice;
    }

    /** The neuron slice. */
    public Slice neuronSlice() {
        return neuronSlice;
    }

    /** Whether {@code resid_mid} is included. */
    public boolean inclMid() {
        return inclMid;
    }

    /** The decomposition mode. */
    public DecomposeMode mode() {
        return mode;
    }

    /** Whether the embeddings are included. */
    public boolean inclEmbeds() {
        return inclEmbeds;
    }

    /** Whether a remainder is appended. */
    public boolean inclRemainder() {
        return inclRemainder;
    }

    /** Whether MLPs are expanded into neurons. */
    public boolean expandNeurons() {
        return expandNeurons;
    }

    /** Whether the stack has a batch axis. */
    public boolean hasBatchDim() {
        return hasBatchDim;
    }

    /** Throws if an option outside {@code allowed} was set. */
    void check(String method, Option... allowed) {
        Set<Option> ok = EnumSet.noneOf(Option.class);
        ok.addAll(Arrays.asList(allowed));
        for (Option o : set) {
            if (!ok.contains(o)) {
                List<String> names = new ArrayList<>();
                ok.forEach(a -> names.add(a.label));
                throw new IllegalArgumentException(method + " does not take the option " + o.label + " (it takes "
                        + String.join(", ", names) + ")");
            }
        }
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (Option o : set) {
            parts.add(o.label + "=" + value(o));
        }
        return "StackOptions" + parts;
    }

    private Object value(Option o) {
        return switch (o) {
            case LAYER -> layer;
            case MLP_INPUT -> mlpInput;
            case APPLY_LN -> applyLn;
            case RECOMPUTE_LN -> recomputeLn;
            case POS_SLICE -> posSlice;
            case BATCH_SLICE -> batchSlice;
            case NEURON_SLICE -> neuronSlice;
            case INCL_MID -> inclMid;
            case MODE -> mode;
            case INCL_EMBEDS -> inclEmbeds;
            case INCL_REMAINDER -> inclRemainder;
            case EXPAND_NEURONS -> expandNeurons;
            case HAS_BATCH_DIM -> hasBatchDim;
        };
    }
}
