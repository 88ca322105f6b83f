package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.lens4j.core.ActNames;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.HookedTransformer;

/**
 * Activation patching (TransformerLens's {@code patching} module): run the corrupted tokens, replace one
 * activation (or part of it) with its value from the clean run, and record the metric; once per index of
 * a sweep. Results have TransformerLens's shapes and index order.
 *
 * <pre>{@code
 * try (CachedRun clean = model.runWithCache(cleanTokens)) {
 *     PatchingResult r = ActivationPatching.of(model)
 *             .sweep(PatchSweep.RESID_PRE, corruptedTokens, clean.cache(), PatchingMetric.logitDiff(7, 13));
 *     double atLayer1Pos2 = r.get(1, 2);                          // [layer, pos]
 * }
 * }</pre>
 *
 * <p>By default sweeps take the fast path (see {@link PatchingOptions#fast()}); the plain path is
 * TransformerLens's loop of one full forward pass per patch.
 */
public final class ActivationPatching {

    private final HookedTransformer model;
    private final PatchRunner runner;

    private ActivationPatching(HookedTransformer model, PatchingOptions options) {
        this.model = model;
        this.runner = new PatchRunner(model, options);
    }

    /** Patching on a model with the default options. */
    public static ActivationPatching of(HookedTransformer model) {
        return of(model, PatchingOptions.DEFAULT);
    }

    /** Patching on a model with options. */
    public static ActivationPatching of(HookedTransformer model, PatchingOptions options) {
        return new ActivationPatching(model, options);
    }

    /**
     * One patch per index of a sweep (TransformerLens's {@code generic_activation_patch} with
     * {@code index_axis_names}).
     *
     * @param corruptedTokens {@code [batch, pos]}
     * @param cleanCache a cache of the clean run on tokens of the same shape
     * @return the metric per index, shape {@link PatchSweep#shape}
     */
    public PatchingResult sweep(PatchSweep sweep, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchingMetric metric) {
        long nPositions = PatchRunner.tokensShape(corruptedTokens).get(1);
        List<int[]> indices = sweep.indices(model.config(), nPositions);
        double[] values = patch(sweep.activationName(), sweep.setter(), indices, corruptedTokens, cleanCache, metric,
                sweep.activationName());
        return new PatchingResult(values, sweep.shape(model.config(), nPositions), sweep.axisNames());
    }

    /**
     * One patch per given index (TransformerLens's {@code generic_activation_patch} with {@code index_df}).
     *
     * @param activationName short activation name, e.g. {@code "z"}
     * @param indices one index per patch, each starting with the layer
     * @return the metric per index, axis {@code patch}
     */
    public PatchingResult patch(String activationName, PatchSetter setter, List<int[]> indices, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        double[] values = patch(activationName, setter, indices, corruptedTokens, cleanCache, metric, activationName);
        return new PatchingResult(values, new long[] {indices.size()}, List.of("patch"));
    }

    private double[] patch(String activationName, PatchSetter setter, List<int[]> indices, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric, String task) {
        Shape tokens = PatchRunner.tokensShape(corruptedTokens);
        if (!cleanCache.hasBatchDim()) {
            throw new IllegalArgumentException("the clean cache has no batch axis (removeBatchDim); patching needs one");
        }
        int nLayers = model.config().nLayers();
        List<PatchRunner.Variant> variants = new ArrayList<>(indices.size());
        for (int[] index : indices) {
            if (index.length == 0 || index[0] < 0 || index[0] >= nLayers) {
                throw new IllegalArgumentException("patch index " + java.util.Arrays.toString(index)
                        + " must start with a layer in [0, " + nLayers + ")");
            }
            String hookName = ActNames.getActName(activationName, index[0]);
            NDArray clean = cleanActivation(cleanCache, hookName, tokens);
            int[] idx = index.clone();
            PatchRunner.Edit edit = setter instanceof PatchRegion region
                    ? PatchRunner.Edit.region(hookName, region, idx, clean)
                    : new PatchRunner.Edit(hookName, act -> setter.patch(act, idx, clean));
            variants.add(new PatchRunner.Variant(List.of(edit)));
        }
        return runner.metrics(corruptedTokens, variants, metric, "patching " + task);
    }

    /** The clean activation, checked to come from a batch of the corrupted tokens' size. */
    static NDArray cleanActivation(ActivationCache cleanCache, String hookName, Shape tokens) {
        NDArray clean = cleanCache.get(hookName);
        if (clean.getShape().get(0) != tokens.get(0)) {
            throw new IllegalArgumentException("clean activation '" + hookName + "' has shape " + clean.getShape()
                    + " but the corrupted tokens are " + tokens + ": use clean and corrupted prompts of the "
                    + "same shape");
        }
        return clean;
    }

    /**
     * resid_pre, attn_out and mlp_out by layer and position, stacked: {@code [3, layer, pos]}
     * (TransformerLens's {@code get_act_patch_block_every}).
     */
    public PatchingResult blockEvery(NDArray corruptedTokens, ActivationCache cleanCache, PatchingMetric metric) {
        return blockEvery(s -> sweep(s, corruptedTokens, cleanCache, metric));
    }

    /**
     * Head output, query, key, value and pattern at all positions, stacked: {@code [5, layer, head]}
     * (TransformerLens's {@code get_act_patch_attn_head_all_pos_every}).
     */
    public PatchingResult attnHeadAllPosEvery(NDArray corruptedTokens, ActivationCache cleanCache,
            PatchingMetric metric) {
        return attnHeadAllPosEvery(s -> sweep(s, corruptedTokens, cleanCache, metric));
    }

    /**
     * Head output, query, key, value and pattern by position, stacked: {@code [5, layer, pos, head]}
     * (TransformerLens's {@code get_act_patch_attn_head_by_pos_every}; the pattern is patched by destination
     * position).
     */
    public PatchingResult attnHeadByPosEvery(NDArray corruptedTokens, ActivationCache cleanCache,
            PatchingMetric metric) {
        return attnHeadByPosEvery(s -> sweep(s, corruptedTokens, cleanCache, metric));
    }

    /** The {@code block_every} stack of any per-sweep computation (activation or attribution patching). */
    static PatchingResult blockEvery(Function<PatchSweep, PatchingResult> sweep) {
        return PatchingResult.stack("patch_type", List.of("resid_pre", "attn_out", "mlp_out"),
                List.of(sweep.apply(PatchSweep.RESID_PRE), sweep.apply(PatchSweep.ATTN_OUT),
                        sweep.apply(PatchSweep.MLP_OUT)));
    }

    /** The {@code attn_head_all_pos_every} stack of any per-sweep computation. */
    static PatchingResult attnHeadAllPosEvery(Function<PatchSweep, PatchingResult> sweep) {
        return PatchingResult.stack("patch_type", List.of("output", "query", "key", "value", "pattern"),
                List.of(sweep.apply(PatchSweep.ATTN_HEAD_OUT_ALL_POS), sweep.apply(PatchSweep.ATTN_HEAD_Q_ALL_POS),
                        sweep.apply(PatchSweep.ATTN_HEAD_K_ALL_POS), sweep.apply(PatchSweep.ATTN_HEAD_V_ALL_POS),
                        sweep.apply(PatchSweep.ATTN_HEAD_PATTERN_ALL_POS)));
    }

    /** The {@code attn_head_by_pos_every} stack of any per-sweep computation. */
    static PatchingResult attnHeadByPosEvery(Function<PatchSweep, PatchingResult> sweep) {
        PatchingResult pattern = sweep.apply(PatchSweep.ATTN_HEAD_PATTERN_BY_POS)
                .transpose("layer", "dest_pos", "head_index");
        return PatchingResult.stack("patch_type", List.of("output", "query", "key", "value", "pattern"),
                List.of(sweep.apply(PatchSweep.ATTN_HEAD_OUT_BY_POS), sweep.apply(PatchSweep.ATTN_HEAD_Q_BY_POS),
                        sweep.apply(PatchSweep.ATTN_HEAD_K_BY_POS), sweep.apply(PatchSweep.ATTN_HEAD_V_BY_POS),
                        pattern));
    }

    /** The metric of a run of the tokens without patches (e.g. the clean or corrupted baseline). */
    public double metric(NDArray tokens, PatchingMetric metric) {
        return runner.baseMetric(tokens, metric);
    }
}
