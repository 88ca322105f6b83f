package org.lens4j.core;

import ai.djl.ndarray.NDArray;

/**
 * A forward hook, as {@code fn(activation, hook)} in TransformerLens.
 *
 * <p>The function sees the activation at a hook point and returns either {@code null} (keep the
 * activation, including any in-place edits) or a replacement of exactly the same shape and dtype.
 * Arrays the hook sees or creates live until the forward pass ends; to keep one longer, copy it into
 * a manager of your own with {@link HookPoint#keep(NDArray, ai.djl.ndarray.NDManager)}.
 */
@FunctionalInterface
public interface HookFunction {

    /**
     * @param activation the activation at the hook point, e.g. {@code [batch, pos, d_model]}
     * @param hook the hook point (its {@link HookPoint#name()} and {@link HookPoint#layer()})
     * @return {@code null} to keep the activation, or a replacement of the same shape and dtype
     */
    NDArray apply(NDArray activation, HookPoint hook);
}
