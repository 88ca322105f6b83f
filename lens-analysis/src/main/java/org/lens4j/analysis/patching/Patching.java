package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import java.util.List;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.HookedTransformer;

/**
 * TransformerLens's {@code transformer_lens.patching} functions under their own names, with the default
 * {@link PatchingOptions} (fast path). Each takes {@code (model, corruptedTokens, cleanCache, metric)}: the
 * corrupted tokens {@code [batch, pos]}, a cache of the clean run on tokens of the same shape, and a
 * metric of the logits. For other options use {@link ActivationPatching#of(HookedTransformer,
 * PatchingOptions)}.
 *
 * <pre>{@code
 * PatchingResult r = Patching.getActPatchResidPre(model, corruptedTokens, cleanCache, metric); // [n_layers, pos]
 * }</pre>
 */
public final class Patching {

    private Patching() {}

    /**
     * {@code generic_activation_patch} with {@code index_axis_names}: one patch per index of the Cartesian
     * product of the axes.
     *
     * @param activationName short name, e.g. {@code "resid_pre"}
     * @param axisNames index axes, the first being {@code layer}
     */
    public static PatchingResult genericActivationPatch(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric, PatchSetter setter, String activationName,
            List<String> axisNames) {
        return ActivationPatching.of(model).sweep(new PatchSweep(activationName, axisNames, setter), corruptedTokens,
                cleanCache, metric);
    }

    /**
     * {@code generic_activation_patch} with {@code index_df}: one patch per given index.
     *
     * @return one value per index, axis {@code patch}
     */
    public static PatchingResult genericActivationPatch(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric, PatchSetter setter, String activationName,
            int[][] indices) {
        return ActivationPatching.of(model).patch(activationName, setter, List.of(indices), corruptedTokens, cleanCache,
                metric);
    }

    /**
     * {@code get_act_patch_resid_pre}: patches the residual stream before each block, by position;
     * {@code [n_layers, pos]}.
     */
    public static PatchingResult getActPatchResidPre(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.RESID_PRE, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_resid_mid}: patches the residual stream between attention and MLP, by position;
     * {@code [n_layers, pos]}.
     */
    public static PatchingResult getActPatchResidMid(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.RESID_MID, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_attn_out}: patches each attention layer's output, by position; {@code [n_layers, pos]}. */
    public static PatchingResult getActPatchAttnOut(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_OUT, corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_mlp_out}: patches each MLP layer's output, by position; {@code [n_layers, pos]}. */
    public static PatchingResult getActPatchMlpOut(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.MLP_OUT, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_out_by_pos}: patches each head's output (z), by position;
     * {@code [n_layers, pos, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadOutByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_OUT_BY_POS, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_q_by_pos}: patches each head's queries, by position;
     * {@code [n_layers, pos, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadQByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_Q_BY_POS, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_k_by_pos}: patches each head's keys, by position;
     * {@code [n_layers, pos, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadKByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_K_BY_POS, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_v_by_pos}: patches each head's values, by position;
     * {@code [n_layers, pos, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadVByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_V_BY_POS, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_pattern_by_pos}: patches each head's attention pattern, by destination position;
     * {@code [n_layers, n_heads, dest_pos]}.
     */
    public static PatchingResult getActPatchAttnHeadPatternByPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_PATTERN_BY_POS,
                corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_pattern_dest_src_pos}: patches each single entry of each head's attention pattern;
     * {@code [n_layers, n_heads, dest_pos, src_pos]}.
     */
    public static PatchingResult getActPatchAttnHeadPatternDestSrcPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_PATTERN_DEST_SRC_POS,
                corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_out_all_pos}: patches each head's output (z) at all positions;
     * {@code [n_layers, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadOutAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_OUT_ALL_POS,
                corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_q_all_pos}: patches each head's queries at all positions;
     * {@code [n_layers, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadQAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_Q_ALL_POS, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_k_all_pos}: patches each head's keys at all positions;
     * {@code [n_layers, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadKAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_K_ALL_POS, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_v_all_pos}: patches each head's values at all positions;
     * {@code [n_layers, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadVAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_V_ALL_POS, corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_pattern_all_pos}: patches each head's whole attention pattern;
     * {@code [n_layers, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadPatternAllPos(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).sweep(PatchSweep.ATTN_HEAD_PATTERN_ALL_POS,
                corruptedTokens, cleanCache, metric);
    }

    /** {@code get_act_patch_block_every}: resid_pre, attn_out and mlp_out stacked; {@code [3, n_layers, pos]}. */
    public static PatchingResult getActPatchBlockEvery(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).blockEvery(corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_all_pos_every}: output, query, key, value and pattern of each head at all positions, stacked;
     * {@code [5, n_layers, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadAllPosEvery(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).attnHeadAllPosEvery(corruptedTokens, cleanCache, metric);
    }

    /**
     * {@code get_act_patch_attn_head_by_pos_every}: output, query, key, value and pattern of each head by position, stacked;
     * {@code [5, n_layers, pos, n_heads]}.
     */
    public static PatchingResult getActPatchAttnHeadByPosEvery(HookedTransformer model, NDArray corruptedTokens,
            ActivationCache cleanCache, PatchingMetric metric) {
        return ActivationPatching.of(model).attnHeadByPosEvery(corruptedTokens, cleanCache, metric);
    }
}
