package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;

/**
 * How one patch writes clean values into a corrupted activation (TransformerLens's {@code patch_setter}).
 * The index starts with the layer; the rest picks what to patch. A setter returns a new array and leaves
 * its inputs unchanged.
 *
 * <p>The built-in setters patch a {@link PatchRegion}: the index fixes some axes of the activation and
 * every other axis is patched in full, for all batch rows.
 */
@FunctionalInterface
public interface PatchSetter {

    /** {@code [layer, pos]}: {@code act[:, pos, ...] = clean[:, pos, ...]} ({@code layer_pos_patch_setter}). */
    PatchSetter LAYER_POS = new PatchRegion(1);

    /** {@code [layer, pos, head]}: {@code act[:, pos, head] = clean[:, pos, head]} (q, k, v, z, result). */
    PatchSetter LAYER_POS_HEAD_VECTOR = new PatchRegion(1, 2);

    /** {@code [layer, head]}: {@code act[:, :, head] = clean[:, :, head]} (q, k, v, z, result). */
    PatchSetter LAYER_HEAD_VECTOR = new PatchRegion(2);

    /** {@code [layer, head]}: {@code act[:, head] = clean[:, head]} (patterns and scores). */
    PatchSetter LAYER_HEAD_PATTERN = new PatchRegion(1);

    /** {@code [layer, head, dest]}: {@code act[:, head, dest, :] = clean[:, head, dest, :]}. */
    PatchSetter LAYER_HEAD_POS_PATTERN = new PatchRegion(1, 2);

    /** {@code [layer, head, dest, src]}: {@code act[:, head, dest, src] = clean[:, head, dest, src]}. */
    PatchSetter LAYER_HEAD_DEST_SRC_POS_PATTERN = new PatchRegion(1, 2, 3);

    /**
     * @param corrupted the activation of the corrupted run {@code [batch, ...]}
     * @param index the patch's index, {@code index[0]} is the layer
     * @param clean the same activation in the clean run {@code [batch, ...]}
     * @return the patched activation {@code [batch, ...]}, a new array
     */
    NDArray patch(NDArray corrupted, int[] index, NDArray clean);
}
