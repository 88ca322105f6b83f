package org.lens4j.analysis.patching;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.lens4j.core.HookedTransformerConfig;

/**
 * A family of patches: one activation, the index axes to sweep over and how to patch at each index. The
 * constants are TransformerLens's {@code get_act_patch_*} functions; the result of a sweep has one axis per
 * index axis, in this order.
 *
 * <p>Axis sizes: {@code layer} = n_layers; {@code pos}, {@code dest_pos}, {@code src_pos} = the number of
 * positions; {@code head}, {@code head_index} = n_heads.
 *
 * @param activationName a short activation name ({@code "resid_pre"}, {@code "z"}, {@code "pattern"}, ...)
 *     that {@code ActNames.getActName(name, layer)} expands
 * @param axisNames the index axes; the first is always {@code layer}
 * @param setter how one index patches the activation
 */
public record PatchSweep(String activationName, List<String> axisNames, PatchSetter setter) {

    /** resid_pre by layer and position, {@code [layer, pos]}. */
    public static final PatchSweep RESID_PRE = of("resid_pre", PatchSetter.LAYER_POS, "layer", "pos");
    /** resid_mid by layer and position, {@code [layer, pos]}. */
    public static final PatchSweep RESID_MID = of("resid_mid", PatchSetter.LAYER_POS, "layer", "pos");
    /** resid_post by layer and position, {@code [layer, pos]}. */
    public static final PatchSweep RESID_POST = of("resid_post", PatchSetter.LAYER_POS, "layer", "pos");
    /** attention output by layer and position, {@code [layer, pos]}. */
    public static final PatchSweep ATTN_OUT = of("attn_out", PatchSetter.LAYER_POS, "layer", "pos");
    /** MLP output by layer and position, {@code [layer, pos]}. */
    public static final PatchSweep MLP_OUT = of("mlp_out", PatchSetter.LAYER_POS, "layer", "pos");

    /** Head outputs (z) by position, {@code [layer, pos, head]}. */
    public static final PatchSweep ATTN_HEAD_OUT_BY_POS =
            of("z", PatchSetter.LAYER_POS_HEAD_VECTOR, "layer", "pos", "head");
    /** Head queries by position, {@code [layer, pos, head]}. */
    public static final PatchSweep ATTN_HEAD_Q_BY_POS =
            of("q", PatchSetter.LAYER_POS_HEAD_VECTOR, "layer", "pos", "head");
    /** Head keys by position, {@code [layer, pos, head]}. */
    public static final PatchSweep ATTN_HEAD_K_BY_POS =
            of("k", PatchSetter.LAYER_POS_HEAD_VECTOR, "layer", "pos", "head");
    /** Head values by position, {@code [layer, pos, head]}. */
    public static final PatchSweep ATTN_HEAD_V_BY_POS =
            of("v", PatchSetter.LAYER_POS_HEAD_VECTOR, "layer", "pos", "head");
    /** Head patterns by destination position, {@code [layer, head, dest_pos]}. */
    public static final PatchSweep ATTN_HEAD_PATTERN_BY_POS =
            of("pattern", PatchSetter.LAYER_HEAD_POS_PATTERN, "layer", "head_index", "dest_pos");
    /** Single attention-pattern entries, {@code [layer, head, dest_pos, src_pos]}. */
    public static final PatchSweep ATTN_HEAD_PATTERN_DEST_SRC_POS =
            of("pattern", PatchSetter.LAYER_HEAD_DEST_SRC_POS_PATTERN, "layer", "head_index", "dest_pos", "src_pos");

    /** Head outputs (z) at all positions, {@code [layer, head]}. */
    public static final PatchSweep ATTN_HEAD_OUT_ALL_POS = of("z", PatchSetter.LAYER_HEAD_VECTOR, "layer", "head");
    /** Head queries at all positions, {@code [layer, head]}. */
    public static final PatchSweep ATTN_HEAD_Q_ALL_POS = of("q", PatchSetter.LAYER_HEAD_VECTOR, "layer", "head");
    /** Head keys at all positions, {@code [layer, head]}. */
    public static final PatchSweep ATTN_HEAD_K_ALL_POS = of("k", PatchSetter.LAYER_HEAD_VECTOR, "layer", "head");
    /** Head values at all positions, {@code [layer, head]}. */
    public static final PatchSweep ATTN_HEAD_V_ALL_POS = of("v", PatchSetter.LAYER_HEAD_VECTOR, "layer", "head");
    /** Head patterns at all positions, {@code [layer, head]}. */
    public static final PatchSweep ATTN_HEAD_PATTERN_ALL_POS =
            of("pattern", PatchSetter.LAYER_HEAD_PATTERN, "layer", "head_index");

    /** Validates the sweep. */
    public PatchSweep {
        Objects.requireNonNull(activationName, "activationName");
        Objects.requireNonNull(setter, "setter");
        axisNames = List.copyOf(axisNames);
        if (axisNames.isEmpty() || !axisNames.get(0).equals("layer")) {
            throw new IllegalArgumentException("the first index axis of a sweep must be 'layer', not " + axisNames);
        }
    }

    /** A sweep over the Cartesian product of the named axes. */
    public static PatchSweep of(String activationName, PatchSetter setter, String... axisNames) {
        return new PatchSweep(activationName, List.of(axisNames), setter);
    }

    /** The size of each index axis for a model and a number of positions. */
    public long[] shape(HookedTransformerConfig cfg, long nPositions) {
        long[] shape = new long[axisNames.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = switch (axisNames.get(i)) {
                case "layer" -> cfg.nLayers();
                case "pos", "dest_pos", "src_pos" -> nPositions;
                case "head", "head_index" -> cfg.nHeads();
                default -> throw new IllegalArgumentException("unknown index axis '" + axisNames.get(i)
                        + "' (use layer, pos, dest_pos, src_pos, head or head_index)");
            };
        }
        return shape;
    }

    /** Every index of the sweep, last axis fastest (TransformerLens's {@code make_df_from_ranges}). */
    public List<int[]> indices(HookedTransformerConfig cfg, long nPositions) {
        long[] shape = shape(cfg, nPositions);
        long total = 1;
        for (long s : shape) {
            total *= s;
        }
        List<int[]> out = new ArrayList<>((int) total);
        for (long flat = 0; flat < total; flat++) {
            int[] index = new int[shape.length];
            long rest = flat;
            for (int a = shape.length - 1; a >= 0; a--) {
                index[a] = (int) (rest % shape[a]);
                rest /= shape[a];
            }
            out.add(index);
        }
        return out;
    }
}
