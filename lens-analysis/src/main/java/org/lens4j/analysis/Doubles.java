package org.lens4j.analysis;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;

/** Copies arrays into Java {@code double} arrays without leaving converted copies in any manager. */
public final class Doubles {

    private Doubles() {}

    /** The elements of any floating array in row-major order, as float64. */
    public static double[] of(NDArray a) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            // toType returns the array itself when it is float64 already: only a conversion is scoped.
            return a.toType(DataType.FLOAT64, false).toDoubleArray();
        }
    }

    /** A 2-D array as {@code double[rows][cols]}. */
    public static double[][] matrix(NDArray a) {
        if (a.getShape().dimension() != 2) {
            throw new IllegalArgumentException("expected a matrix, not shape " + a.getShape());
        }
        int rows = (int) a.getShape().get(0);
        int cols = (int) a.getShape().get(1);
        double[] flat = of(a);
        double[][] out = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(flat, r * cols, out[r], 0, cols);
        }
        return out;
    }
}
