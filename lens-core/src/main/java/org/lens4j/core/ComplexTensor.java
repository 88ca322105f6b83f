package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * A complex-valued tensor held as two real arrays of the same shape, for results such as
 * {@link FactoredMatrix#eigenvalues()} (TransformerLens returns a {@code complex64} tensor there).
 *
 * <p>The arrays belong to whoever produced them (for eigenvalues: the {@link FactoredMatrix}).
 *
 * @param real the real parts, e.g. {@code [..., mdim]}
 * @param imag the imaginary parts, same shape and data type as {@code real}
 */
public record ComplexTensor(NDArray real, NDArray imag) {

    /**
     * Checks that both parts have the same shape.
     *
     * @param real the real parts
     * @param imag the imaginary parts
     * @throws IllegalArgumentException if the shapes differ
     */
    public ComplexTensor {
        if (!real.getShape().equals(imag.getShape())) {
            throw new IllegalArgumentException("ComplexTensor parts differ in shape: real "
                    + real.getShape() + ", imag " + imag.getShape());
        }
    }

    /**
     * Returns the shape shared by both parts.
     *
     * @return the shape, e.g. {@code [..., mdim]}
     */
    public Shape getShape() {
        return real.getShape();
    }
}
