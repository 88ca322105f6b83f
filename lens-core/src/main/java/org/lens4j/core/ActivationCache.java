package org.lens4j.core;

import static org.lens4j.core.StackOptions.Option.APPLY_LN;
import static org.lens4j.core.StackOptions.Option.BATCH_SLICE;
import static org.lens4j.core.StackOptions.Option.EXPAND_NEURONS;
import static org.lens4j.core.StackOptions.Option.HAS_BATCH_DIM;
import static org.lens4j.core.StackOptions.Option.INCL_EMBEDS;
import static org.lens4j.core.StackOptions.Option.INCL_MID;
import static org.lens4j.core.StackOptions.Option.INCL_REMAINDER;
import static org.lens4j.core.StackOptions.Option.LAYER;
import static org.lens4j.core.StackOptions.Option.MLP_INPUT;
import static org.lens4j.core.StackOptions.Option.MODE;
import static org.lens4j.core.StackOptions.Option.NEURON_SLICE;
import static org.lens4j.core.StackOptions.Option.POS_SLICE;
import static org.lens4j.core.StackOptions.Option.RECOMPUTE_LN;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.StackOptions.DecomposeMode;
import org.lens4j.core.components.LayerNorm;

/**
 * Activations recorded by {@link HookedTransformer#runWithCache}, by hook name in firing order
 * (TransformerLens's {@code ActivationCache}). The cache owns its arrays: {@link #close()} frees them.
 *
 * <p>Keys are full hook names; {@link #get(String)} also takes TransformerLens's shorthand
 * ({@code "pattern0"}, {@code "k6a"}) and {@link #get(String, int)} a short name with a layer (negative
 * layers count from the end). Gradients recorded with {@code inclBwd} are stored as
 * {@code "<hook name>_grad"}.
 *
 * <p>The residual-stream analyses are TransformerLens 2.12's methods of the same names: {@link
 * #accumulatedResid}, {@link #decomposeResid}, {@link #stackHeadResults}, {@link #stackNeuronResults}, {@link
 * #getFullResidDecomposition}, {@link #stackActivation}, {@link #applyLnToStack}, {@link #logitAttrs} and
 * {@link #computeHeadResults}, with their keyword arguments in {@link StackOptions}. Arrays they return belong
 * to this cache (freed by {@link #close()} at the latest).
 *
 * <pre>{@code
 * LabelledStack heads = cache.stackHeadResults(StackOptions.defaults().posSlice(Slice.index(-1)));
 * NDArray attrs = cache.logitAttrs(heads.stack(), correct, incorrect,
 *         StackOptions.defaults().posSlice(Slice.index(-1)));   // [n_layers * n_heads, batch]
 * }</pre>
 */
public final class ActivationCache implements AutoCloseable {

    private final HookedTransformer model;
    private final NDManager manager;
    private final LinkedHashMap<String, NDArray> activations = new LinkedHashMap<>();
    private boolean hasBatchDim = true;

    /**
     * An empty cache whose arrays will belong to a new child of {@code parent}.
     *
     * @param model the model the activations came from (analyses read its weights and config)
     */
    public ActivationCache(HookedTransformer model, NDManager parent) {
        this.model = model;
        this.manager = parent.newSubManager();
    }

    /** Takes ownership of an activation and stores it under {@code name} (replacing any earlier value). */
    public void put(String name, NDArray activation) {
        activation.attach(manager);
        activations.put(name, activation);
    }

    /** The activation under a full name or TransformerLens shorthand. */
    public NDArray get(String name) {
        NDArray a = activations.get(name);
        if (a != null) {
            return a;
        }
        String full = ActNames.getActName(name);
        a = activations.get(full);
        if (a == null) {
            throw new IllegalArgumentException("no activation '" + name + "'" + (full.equals(name) ? "" : " ('" + full
                    + "')") + " in the cache; closest: " + NameSuggestions.closest(full, activations.keySet()));
        }
        return a;
    }

    /** The activation of a short name at a layer, e.g. {@code get("resid_pre", -1)}. */
    public NDArray get(String name, int layer) {
        return get(ActNames.getActName(name, normaliseLayer(layer), null));
    }

    /** The activation of a short name at a layer and sublayer type, e.g. {@code get("scale", 0, "ln1")}. */
    public NDArray get(String name, int layer, String layerType) {
        return get(ActNames.getActName(name, normaliseLayer(layer), layerType));
    }

    private int normaliseLayer(int layer) {
        return layer < 0 ? layer + model.config().nLayers() : layer;
    }

    /** Whether a full hook name is in the cache. */
    public boolean contains(String name) {
        return activations.containsKey(name);
    }

    /** The hook names, in firing order. */
    public List<String> keys() {
        return List.copyOf(activations.keySet());
    }

    /** An unmodifiable view of the activations by name, in firing order. */
    public Map<String, NDArray> asMap() {
        return Collections.unmodifiableMap(activations);
    }

    /** The number of cached activations. */
    public int size() {
        return activations.size();
    }

    /** The model the activations came from. */
    public HookedTransformer model() {
        return model;
    }

    /** The manager that owns the cached arrays. */
    public NDManager manager() {
        return manager;
    }

    /** Whether activations still have their leading batch axis. */
    public boolean hasBatchDim() {
        return hasBatchDim;
    }

    /**
     * Drops the batch axis of every activation, keeping batch element 0 (TransformerLens's
     * {@code remove_batch_dim}, which requires a batch of one).
     *
     * @return this cache
     */
    public ActivationCache removeBatchDim() {
        if (!hasBatchDim) {
            return this;
        }
        for (Map.Entry<String, NDArray> e : new ArrayList<>(activations.entrySet())) {
            if (e.getValue().getShape().get(0) != 1) {
                throw new IllegalStateException("removeBatchDim needs a batch of 1, but '" + e.getKey()
                        + "' has shape " + e.getValue().getShape());
            }
        }
        for (Map.Entry<String, NDArray> e : activations.entrySet()) {
            NDArray old = e.getValue();
            NDArray squeezed = old.squeeze(0);
            squeezed.attach(manager);
            e.setValue(squeezed);
        }
        hasBatchDim = false;
        return this;
    }

    // ------------------------------------------------------------------------------------------ residual stream

    /** {@link #accumulatedResid(StackOptions)} with TransformerLens's defaults (every layer's input, all positions). */
    public LabelledStack accumulatedResid() {
        return accumulatedResid(StackOptions.defaults());
    }

    /**
     * The residual stream as it accumulates, TransformerLens's {@code accumulated_resid}: {@code resid_pre} of
     * each layer before {@code layer} (labels {@code "0_pre"}, {@code "1_pre"}, ...), with {@code inclMid} also
     * {@code resid_mid} ({@code "0_mid"}), with {@code mlpInput} also {@code resid_mid} of {@code layer}, and at
     * {@code layer = n_layers} the final {@code resid_post} ({@code "final_post"}). This is the logit lens's
     * input.
     *
     * <p>{@code applyLn} scales every entry as the LayerNorm feeding {@code layer} would, with that LayerNorm's
     * cached scale (TransformerLens 2.12 semantics, as in its reference outputs); add {@code recomputeLn} to
     * normalise each entry with {@code ln_final} and its own statistics instead (TransformerLens 2.18+ at the
     * final layer, the classic logit lens).
     *
     * <p>Options: layer, inclMid, applyLn, recomputeLn, posSlice, mlpInput.
     *
     * @return {@code [component, batch, pos, d_model]} (position axis dropped by an int {@code posSlice})
     */
    public LabelledStack accumulatedResid(StackOptions o) {
        o.check("accumulatedResid", LAYER, INCL_MID, APPLY_LN, RECOMPUTE_LN, POS_SLICE, MLP_INPUT);
        int n = model.config().nLayers();
        int layer = stackLayer(o, "accumulatedResid");
        if ((o.inclMid() || (o.mlpInput() && layer < n)) && model.config().attnOnly()) {
            throw new IllegalArgumentException("accumulatedResid: the model is attention-only, so it has no resid_mid "
                    + "(inclMid and mlpInput need one)");
        }
        List<String> labels = new ArrayList<>();
        List<NDArray> parts = new ArrayList<>();
        for (int l = 0; l <= layer; l++) {
            if (l == n) {
                parts.add(get("blocks." + (n - 1) + ".hook_resid_post"));
                labels.add("final_post");
                continue;
            }
            parts.add(get("blocks." + l + ".hook_resid_pre"));
            labels.add(l + "_pre");
            if ((o.inclMid() && l < layer) || (o.mlpInput() && l == layer)) {
                parts.add(get("blocks." + l + ".hook_resid_mid"));
                labels.add(l + "_mid");
            }
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray stack = stackSliced(parts, o.posSlice(), -2);
            if (o.applyLn()) {
                stack = scaleStack(stack, layer, o.mlpInput(), o.posSlice(), Slice.all(), true, o.recomputeLn());
            }
            return keep(stack, labels);
        }
    }

    /** {@link #decomposeResid(StackOptions)} with TransformerLens's defaults. */
    public LabelledStack decomposeResid() {
        return decomposeResid(StackOptions.defaults());
    }

    /**
     * The residual stream entering {@code layer} split into the outputs that wrote it, TransformerLens's
     * {@code decompose_resid}: {@code "embed"}, {@code "pos_embed"} (with {@code inclEmbeds}; {@code pos_embed} is
     * listed for shortformer models too, as TransformerLens does, although it is not in their residual stream),
     * then per earlier layer {@code "L_attn_out"} and {@code "L_mlp_out"} (as {@code mode} selects), and with
     * {@code mlpInput} the attention output of {@code layer} itself. The components sum to {@code resid_pre}
     * of {@code layer} ({@code resid_mid} with {@code mlpInput}, the final {@code resid_post} at {@code
     * n_layers}). {@code applyLn} divides by the cached scale of the LayerNorm feeding {@code layer}, so the
     * scaled components still sum to the LayerNorm's input direction (the linear approximation DLA uses).
     *
     * <p>Options: layer, mlpInput, mode, applyLn, posSlice, inclEmbeds.
     *
     * @return {@code [component, batch, pos, d_model]} (position axis dropped by an int {@code posSlice})
     */
    public LabelledStack decomposeResid(StackOptions o) {
        o.check("decomposeResid", LAYER, MLP_INPUT, MODE, APPLY_LN, POS_SLICE, INCL_EMBEDS);
        int layer = stackLayer(o, "decomposeResid");
        checkMlpInput(o, layer, "decomposeResid");
        boolean inclAttn = o.mode() != DecomposeMode.MLP;
        boolean inclMlp = o.mode() != DecomposeMode.ATTN && !model.config().attnOnly();
        List<String> labels = new ArrayList<>();
        List<NDArray> parts = new ArrayList<>();
        if (o.inclEmbeds()) {
            if (contains("hook_embed")) {
                parts.add(get("hook_embed"));
                labels.add("embed");
            }
            if (contains("hook_pos_embed")) {
                parts.add(get("hook_pos_embed"));
                labels.add("pos_embed");
            }
        }
        for (int l = 0; l < layer; l++) {
            if (inclAttn) {
                parts.add(get("blocks." + l + ".hook_attn_out"));
                labels.add(l + "_attn_out");
            }
            if (inclMlp) {
                parts.add(get("blocks." + l + ".hook_mlp_out"));
                labels.add(l + "_mlp_out");
            }
        }
        if (o.mlpInput() && inclAttn) {
            parts.add(get("blocks." + layer + ".hook_attn_out"));
            labels.add(layer + "_attn_out");
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("decomposeResid: no components selected by " + o);
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray stack = stackSliced(parts, o.posSlice(), -2);
            if (o.applyLn()) {
                stack = scaleStack(stack, layer, o.mlpInput(), o.posSlice(), Slice.all(), true, false);
            }
            return keep(stack, labels);
        }
    }

    /**
     * Computes each head's output {@code result[l] = z[l] @ W_O[l]} per head ({@code [batch, pos, n_heads,
     * d_model]}, without {@code b_O}) and stores it as {@code blocks.L.attn.hook_result}, TransformerLens's
     * {@code compute_head_results}. Does nothing if {@code blocks.0.attn.hook_result} is already cached (a
     * run with {@code setUseAttnResult(true)}).
     */
    public void computeHeadResults() {
        if (contains("blocks.0.attn.hook_result")) {
            return;
        }
        int n = model.config().nLayers();
        List<NDArray> zs = new ArrayList<>();
        for (int l = 0; l < n; l++) {
            zs.add(get("blocks." + l + ".attn.hook_z"));
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (int l = 0; l < n; l++) {
                NDArray wO = model.parameter("blocks." + l + ".attn.W_O");
                // [..., head, 1, d_head] @ [head, d_head, d_model] -> [..., head, 1, d_model]
                NDArray result = zs.get(l).expandDims(-2).matMul(wO).squeeze(-2);
                NDScope.unregister(result);
                put("blocks." + l + ".attn.hook_result", result);
            }
        }
    }

    /** {@link #stackHeadResults(StackOptions)} with TransformerLens's defaults. */
    public LabelledStack stackHeadResults() {
        return stackHeadResults(StackOptions.defaults());
    }

    /**
     * Every head's output before {@code layer}, TransformerLens's {@code stack_head_results}: components in
     * layer-major order labelled {@code "L0H0", "L0H1", ...} (calls {@link #computeHeadResults()} when the
     * results are not cached). With {@code inclRemainder}, {@code "remainder"} is the residual stream after
     * layer {@code layer - 1} minus the heads (embeddings, biases, MLPs). Before layer 0 the stack is empty.
     *
     * <p>Options: layer, inclRemainder, posSlice, applyLn.
     *
     * @return {@code [layer * n_heads (+1), batch, pos, d_model]} (position axis dropped by an int
     *     {@code posSlice})
     */
    public LabelledStack stackHeadResults(StackOptions o) {
        o.check("stackHeadResults", LAYER, INCL_REMAINDER, POS_SLICE, APPLY_LN);
        int layer = stackLayer(o, "stackHeadResults");
        computeHeadResults();
        List<String> labels = new ArrayList<>();
        List<NDArray> perLayer = new ArrayList<>();
        for (int l = 0; l < layer; l++) {
            perLayer.add(get("blocks." + l + ".attn.hook_result"));
            for (int h = 0; h < model.config().nHeads(); h++) {
                labels.add("L" + l + "H" + h);
            }
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            perLayer.replaceAll(result -> o.posSlice().apply(result, -3));
            NDArray stack = concatComponents(perLayer, o.posSlice());
            stack = withRemainder(stack, labels, layer, o);
            if (o.applyLn()) {
                stack = scaleStack(stack, layer, false, o.posSlice(), Slice.all(), true, false);
            }
            return keep(stack, labels);
        }
    }

    /**
     * The activations of one name stacked over the layers before {@code layer}, TransformerLens's
     * {@code stack_activation}, e.g. {@code stackActivation("pattern", -1, null)} is {@code [n_layers, batch,
     * head, q_pos, k_pos]}.
     *
     * @param name a short name ({@code "pattern"}, {@code "resid_pre"}) as {@link ActNames#getActName} takes
     * @param layer the stop layer; {@code -1} or {@code null} means all layers
     * @param sublayerType the layer type for {@link ActNames#getActName} ({@code "attn"}, {@code "ln1"}), or
     *     null
     * @return {@code [layers, ...]}, owned by this cache
     */
    public NDArray stackActivation(String name, Integer layer, String sublayerType) {
        int stop = stackLayer(StackOptions.defaults().layer(layer), "stackActivation");
        if (stop == 0) {
            throw new IllegalArgumentException("stackActivation: layer 0 selects no layers");
        }
        NDList parts = new NDList();
        for (int l = 0; l < stop; l++) {
            parts.add(get(ActNames.getActName(name, l, sublayerType)));
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return keep(NDArrays.stack(parts));
        }
    }

    /**
     * Each neuron's output in one MLP layer, {@code post[..., n] * W_out[n]}, TransformerLens's
     * {@code get_neuron_results}. Not cached: it is cheap to compute and large to keep.
     *
     * @param neuronSlice the neurons (the neuron axis is kept, also for an int slice)
     * @param posSlice the positions
     * @return {@code [batch, pos, neuron, d_model]} (position axis dropped by an int {@code posSlice}), owned
     *     by this cache
     */
    public NDArray getNeuronResults(int layer, Slice neuronSlice, Slice posSlice) {
        checkLayerIndex(layer, "getNeuronResults");
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return keep(neuronResults(layer, neuronSlice, posSlice));
        }
    }

    private NDArray neuronResults(int layer, Slice neuronSlice, Slice posSlice) {
        if (model.config().attnOnly()) {
            throw new IllegalArgumentException("the model is attention-only: it has no MLP neurons");
        }
        NDArray post = posSlice.apply(get("blocks." + layer + ".mlp.hook_post"), -2);
        NDArray wOut = model.parameter("blocks." + layer + ".mlp.W_out");
        Slice neurons = Slice.indices(neuronSlice.indices(model.config().dMlp()));
        return neurons.apply(post, -1).expandDims(-1).mul(neurons.apply(wOut, 0));
    }

    /**
     * Every neuron's output in the MLP layers before {@code layer}, TransformerLens's
     * {@code stack_neuron_results}, labelled {@code "L0N0", "L0N1", ...}, optionally with a
     * {@code "remainder"}. {@code applyLn} uses the cached scale of {@code ln1} of {@code layer} (of
     * {@code ln_final} at {@code n_layers}). Memory grows as {@code layers * d_mlp * d_model} per position:
     * slice positions or neurons on large models.
     *
     * <p>Options: layer, posSlice, neuronSlice, inclRemainder, applyLn.
     *
     * @return {@code [layer * neurons (+1), batch, pos, d_model]} (position axis dropped by an int
     *     {@code posSlice})
     */
    public LabelledStack stackNeuronResults(StackOptions o) {
        o.check("stackNeuronResults", LAYER, POS_SLICE, NEURON_SLICE, INCL_REMAINDER, APPLY_LN);
        int layer = stackLayer(o, "stackNeuronResults");
        long[] neurons = o.neuronSlice().indices(model.config().dMlp());
        List<String> labels = new ArrayList<>();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            List<NDArray> perLayer = new ArrayList<>();
            for (int l = 0; l < layer; l++) {
                perLayer.add(neuronResults(l, o.neuronSlice(), o.posSlice()));
                for (long i : neurons) {
                    labels.add("L" + l + "N" + i);
                }
            }
            NDArray stack = concatComponents(perLayer, o.posSlice());
            stack = withRemainder(stack, labels, layer, o);
            if (o.applyLn()) {
                stack = scaleStack(stack, layer, false, o.posSlice(), Slice.all(), true, false);
            }
            return keep(stack, labels);
        }
    }

    /** {@link #getFullResidDecomposition(StackOptions)} with TransformerLens's defaults. */
    public LabelledStack getFullResidDecomposition() {
        return getFullResidDecomposition(StackOptions.defaults());
    }

    /**
     * The residual stream entering {@code layer} split as finely as it goes, TransformerLens's
     * {@code get_full_resid_decomposition}: every head ({@code "L0H0"} ...; with {@code mlpInput} the heads of
     * {@code layer} too), every neuron of the earlier MLPs ({@code "L0N0"} ...) or, without
     * {@code expandNeurons}, each MLP's output ({@code "0_mlp_out"} ...), {@code "embed"}, {@code "pos_embed"}
     * and {@code "bias"}, the summed output biases ({@link HookedTransformer#accumulatedBias}; {@code b_out} only
     * when neurons are expanded, since MLP outputs already hold it). The components sum to the residual stream.
     *
     * <p>Options: layer, mlpInput, expandNeurons, applyLn, posSlice.
     *
     * @return {@code [component, batch, pos, d_model]} (position axis dropped by an int {@code posSlice})
     */
    public LabelledStack getFullResidDecomposition(StackOptions o) {
        o.check("getFullResidDecomposition", LAYER, MLP_INPUT, EXPAND_NEURONS, APPLY_LN, POS_SLICE);
        int layer = stackLayer(o, "getFullResidDecomposition");
        checkMlpInput(o, layer, "getFullResidDecomposition");
        List<LabelledStack> parts = new ArrayList<>();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            StackOptions sliced = StackOptions.defaults().posSlice(o.posSlice());
            LabelledStack heads = stackHeadResults(sliced.layer(layer + (o.mlpInput() ? 1 : 0)));
            parts.add(heads);
            if (!model.config().attnOnly() && layer > 0) {
                parts.add(o.expandNeurons()
                        ? stackNeuronResults(sliced.layer(layer))
                        : decomposeResid(sliced.layer(layer).mlpInput(o.mlpInput()).inclEmbeds(false)
                                .mode(DecomposeMode.MLP)));
            }
            List<String> labels = new ArrayList<>();
            NDList arrays = new NDList();
            for (LabelledStack p : parts) {
                labels.addAll(p.labels());
                arrays.add(p.stack());
            }
            if (contains("hook_embed")) {
                labels.add("embed");
                arrays.add(o.posSlice().apply(get("hook_embed"), -2).expandDims(0));
            }
            if (contains("hook_pos_embed")) {
                labels.add("pos_embed");
                arrays.add(o.posSlice().apply(get("hook_pos_embed"), -2).expandDims(0));
            }
            Shape one = new Shape(1).addAll(heads.stack().getShape().slice(1));
            NDArray bias = model.accumulatedBias(layer, o.mlpInput(), o.expandNeurons(), manager);
            arrays.add(bias.broadcast(one));
            labels.add("bias");
            NDArray stack = NDArrays.concat(arrays, 0);
            if (o.applyLn()) {
                stack = scaleStack(stack, layer, o.mlpInput(), o.posSlice(), Slice.all(), true, false);
            }
            return keep(stack, labels);
        } finally {
            parts.forEach(LabelledStack::close);
        }
    }

    /**
     * Scales a stack of residual components as the LayerNorm feeding {@code layer} would, TransformerLens's
     * {@code apply_ln_to_stack}: centre each component (LN and LNPre models) and divide by that LayerNorm's
     * cached {@code hook_scale} ({@code ln1} of {@code layer}, {@code ln2} with {@code mlpInput},
     * {@code ln_final} at {@code n_layers}), with {@code posSlice}/{@code batchSlice} applied to the scale —
     * they must describe the positions and batch elements the stack holds. LayerNorm weights and biases are
     * not applied. Models without normalisation get a copy of the stack. With {@code recomputeLn} at the
     * final layer, {@code ln_final} (weight and bias included) is applied to each component with its own
     * statistics instead (TransformerLens 2.18+).
     *
     * <p>Options: layer, mlpInput, posSlice, batchSlice, hasBatchDim, recomputeLn.
     *
     * @param stack {@code [component, batch, pos, d_model]} (or with the axes the slices leave)
     * @return the scaled stack, same shape (batch axis sliced by {@code batchSlice}), owned by this cache
     */
    public NDArray applyLnToStack(NDArray stack, StackOptions o) {
        o.check("applyLnToStack", LAYER, MLP_INPUT, POS_SLICE, BATCH_SLICE, HAS_BATCH_DIM, RECOMPUTE_LN);
        int layer = stackLayer(o, "applyLnToStack");
        checkMlpInput(o, layer, "applyLnToStack");
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray scaled = scaleStack(stack, layer, o.mlpInput(), o.posSlice(), o.batchSlice(), o.hasBatchDim(),
                    o.recomputeLn());
            return keep(scaled == stack ? stack.duplicate() : scaled);
        }
    }

    /**
     * Direct logit attribution of each component to {@code tokens}, TransformerLens's {@code logit_attrs}:
     * {@code sum_d applyLnToStack(stack)[..., d] * W_U[d, token]}, the stack scaled by the cached final
     * LayerNorm scale (centred, no weight or bias), so on a model whose LayerNorm weights are folded the
     * attributions of a full decomposition sum to the logit minus {@code b_U}.
     *
     * <p>Options: posSlice, batchSlice, hasBatchDim (describing the stack, as for {@link #applyLnToStack}).
     *
     * @param stack {@code [component, batch, (pos,) d_model]}
     * @param tokens the tokens, {@code []} or {@code [batch]} (broadcast against the stack's other axes)
     * @param incorrectTokens null, or tokens of the same shape: attribute the logit difference
     *     {@code tokens - incorrectTokens}
     * @return {@code [component, batch, (pos)]}, owned by this cache
     */
    public NDArray logitAttrs(NDArray stack, NDArray tokens, NDArray incorrectTokens, StackOptions o) {
        o.check("logitAttrs", POS_SLICE, BATCH_SLICE, HAS_BATCH_DIM);
        if (incorrectTokens != null && !incorrectTokens.getShape().equals(tokens.getShape())) {
            throw new IllegalArgumentException("logitAttrs: tokens " + tokens.getShape() + " and incorrectTokens "
                    + incorrectTokens.getShape() + " must have the same shape");
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray dirs = model.tokensToResidualDirections(tokens);
            if (incorrectTokens != null) {
                dirs = dirs.sub(model.tokensToResidualDirections(incorrectTokens));
            }
            NDArray scaled = scaleStack(stack, model.config().nLayers(), false, o.posSlice(), o.batchSlice(),
                    o.hasBatchDim(), false);
            Shape component = scaled.getShape().slice(1);
            if (!broadcasts(dirs.getShape(), component)) {
                throw new IllegalArgumentException("logitAttrs: token directions " + dirs.getShape() + " (tokens "
                        + tokens.getShape() + ") do not broadcast against the stack's components " + component);
            }
            return keep(scaled.mul(dirs).sum(new int[] {-1}));
        }
    }

    /** {@link #logitAttrs(NDArray, NDArray, NDArray, StackOptions)} for one token, or a difference of two. */
    public NDArray logitAttrs(NDArray stack, int token, Integer incorrectToken, StackOptions o) {
        try (NDManager tmp = manager.newSubManager()) {
            NDArray t = tmp.create((long) token);
            NDArray wrong = incorrectToken == null ? null : tmp.create((long) incorrectToken);
            return logitAttrs(stack, t, wrong, o);
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** The stop layer of a stack method: null and -1 mean n_layers. */
    private int stackLayer(StackOptions o, String method) {
        int n = model.config().nLayers();
        Integer layer = o.layer();
        if (layer == null || layer == -1) {
            return n;
        }
        if (layer < 0 || layer > n) {
            throw new IllegalArgumentException(method + ": layer " + layer + " is out of range [0, " + n
                    + "] (-1 or null: all layers)");
        }
        return layer;
    }

    private void checkMlpInput(StackOptions o, int layer, String method) {
        if (!o.mlpInput()) {
            return;
        }
        if (layer == model.config().nLayers()) {
            throw new IllegalArgumentException(method + ": mlpInput needs a layer below n_layers = " + layer);
        }
        if (model.config().attnOnly()) {
            throw new IllegalArgumentException(method + ": the model is attention-only, so mlpInput does not apply");
        }
    }

    private void checkLayerIndex(int layer, String method) {
        int n = model.config().nLayers();
        if (layer < 0 || layer >= n) {
            throw new IllegalArgumentException(method + ": layer " + layer + " is out of range [0, " + (n - 1) + "]");
        }
    }

    /** Slices each part on {@code dim} and stacks them on a new leading axis. */
    private static NDArray stackSliced(List<NDArray> parts, Slice slice, int dim) {
        NDList sliced = new NDList();
        for (NDArray p : parts) {
            sliced.add(slice.apply(p, dim));
        }
        return NDArrays.stack(sliced);
    }

    /**
     * Concatenates per-layer components {@code [..., component, d_model]} (already position-sliced) into
     * {@code [component, ..., d_model]}; no parts give an empty stack shaped like the sliced {@code hook_embed}.
     */
    private NDArray concatComponents(List<NDArray> perLayer, Slice posSlice) {
        if (perLayer.isEmpty()) {
            Shape embed = posSlice.apply(get("hook_embed"), -2).getShape();
            return manager.zeros(new Shape(0).addAll(embed), model.config().dtype());
        }
        NDArray cat = NDArrays.concat(new NDList(perLayer.toArray(NDArray[]::new)), -2);
        int rank = cat.getShape().dimension();
        int[] axes = new int[rank];
        axes[0] = rank - 2;
        for (int i = 1; i < rank; i++) {
            axes[i] = i - 1 < rank - 2 ? i - 1 : i;
        }
        return cat.transpose(axes);
    }

    /** Appends {@code resid_post[layer - 1] - sum(stack)} labelled "remainder" if the options ask for it. */
    private NDArray withRemainder(NDArray stack, List<String> labels, int layer, StackOptions o) {
        if (!o.inclRemainder()) {
            return stack;
        }
        if (layer == 0) {
            throw new IllegalArgumentException("inclRemainder needs layer >= 1: there is no resid_post before layer 0");
        }
        NDArray resid = o.posSlice().apply(get("blocks." + (layer - 1) + ".hook_resid_post"), -2);
        NDArray remainder = resid.sub(stack.sum(new int[] {0}));
        labels.add("remainder");
        return NDArrays.concat(new NDList(stack, remainder.expandDims(0)), 0);
    }

    /** apply_ln_to_stack on a resolved layer; returns {@code stack} itself for models without normalisation. */
    private NDArray scaleStack(NDArray stack, int layer, boolean mlpInput, Slice posSlice, Slice batchSlice,
            boolean hasBatchDim, boolean recomputeLn) {
        HookedTransformerConfig cfg = model.config();
        NormalizationType norm = cfg.normalizationType();
        if (norm == NormalizationType.NONE) {
            return stack;
        }
        int n = cfg.nLayers();
        if (hasBatchDim) {
            stack = batchSlice.apply(stack, 1);
        }
        if (recomputeLn && layer == n) {
            return finalNorm().forward(stack);
        }
        if (norm.isLayerNorm()) {
            stack = stack.sub(stack.mean(new int[] {-1}, true));
        }
        String scaleName = layer == n ? "ln_final.hook_scale" : "blocks." + layer + ".ln" + (mlpInput ? 2 : 1)
                + ".hook_scale";
        NDArray scale = posSlice.apply(get(scaleName), -2);
        if (this.hasBatchDim) {
            scale = batchSlice.apply(scale, 0);
        }
        Shape component = stack.getShape().slice(1);
        if (!broadcasts(scale.getShape(), component)) {
            throw new IllegalArgumentException("the stack's components " + component + " do not match the cached "
                    + scaleName + " " + scale.getShape() + " after the position/batch slices: pass the posSlice and "
                    + "batchSlice the stack was made with");
        }
        return stack.div(scale);
    }

    /** The model's final norm as a stand-alone component (fresh hook points, so no user hook fires). */
    private LayerNorm finalNorm() {
        HookedTransformerConfig cfg = model.config();
        NormalizationType type = cfg.normalizationType();
        if (cfg.finalRms()) {
            type = type == NormalizationType.LN ? NormalizationType.RMS
                    : type == NormalizationType.LN_PRE ? NormalizationType.RMS_PRE : type;
        }
        Map<String, NDArray> params = model.stateDict();
        return new LayerNorm(type, cfg.eps(), params.get("ln_final.w"), params.get("ln_final.b"),
                new HookPoint("ln_final.hook_scale"), new HookPoint("ln_final.hook_normalized"));
    }

    /** Whether {@code a} broadcasts against {@code b} and leaves b's shape (numpy rules). */
    private static boolean broadcasts(Shape a, Shape b) {
        if (a.dimension() > b.dimension()) {
            return false;
        }
        for (int i = 1; i <= a.dimension(); i++) {
            long x = a.get(a.dimension() - i);
            long y = b.get(b.dimension() - i);
            if (x != y && x != 1) {
                return false;
            }
        }
        return true;
    }

    /** Moves a result out of the current scope into this cache's manager. */
    private NDArray keep(NDArray result) {
        NDScope.unregister(result);
        result.attach(manager);
        return result;
    }

    private LabelledStack keep(NDArray stack, List<String> labels) {
        return new LabelledStack(keep(stack), labels);
    }

    /** Frees every cached array. */
    @Override
    public void close() {
        activations.clear();
        manager.close();
    }

    @Override
    public String toString() {
        return "ActivationCache with keys " + activations.keySet();
    }
}
