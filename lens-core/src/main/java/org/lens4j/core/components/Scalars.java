package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;

/**
 * Scalar constants for the forward pass, as 0-dim tensors in native memory.
 *
 * <p>Why: DJL turns {@code x.div(2.0)} (any op with a Java number) into an op with a 0-dim tensor that
 * aliases a Java direct buffer, kept alive only by its Java wrapper. Ops such as div, mul, pow and maximum
 * save that operand for the backward pass; once the forward's scope closes the wrapper and the garbage
 * collector frees the buffer, the saved operand reads freed memory and gradients become garbage (NaN or
 * inf) at random. A copy made by the engine owns its memory, so gradients stay correct.
 */
final class Scalars {

    private Scalars() {}

    /** {@code value} as a 0-dim tensor of {@code like}'s dtype, in native memory, owned by its manager. */
    static NDArray of(NDArray like, double value) {
        // duplicate() is a clone by the engine; toType may return the Java-backed array itself.
        try (NDArray javaBacked = like.getManager().create(value);
             NDArray typed = javaBacked.toType(like.getDataType(), false)) {
            return typed.duplicate();
        }
    }
}
