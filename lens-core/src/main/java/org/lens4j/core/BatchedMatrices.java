package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * Moves a stack of matrices {@code [..., rows, cols]} between an {@link NDArray} and Commons Math
 * {@link RealMatrix} objects, one per leading index, for the decompositions DJL lacks (SVD, general
 * eigenvalues). Works in float64 on the host.
 */
final class BatchedMatrices {

    private final double[] data;
    private final int rows;
    private final int cols;

    private BatchedMatrices(double[] data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    /**
     * Copies {@code x} {@code [..., rows, cols]} to the host in float64, row-major.
     *
     * @param x the stacked matrices, any floating-point type (broadcast views are materialised)
     * @param name how to call {@code x} in an error message
     * @return the host copy
     * @throws IllegalArgumentException if {@code x} holds NaN or infinity (Commons Math would
     *     return NaN singular values or fail to converge)
     */
    static BatchedMatrices of(NDArray x, String name) {
        Shape shape = x.getShape();
        int rows = Math.toIntExact(shape.get(shape.dimension() - 2));
        int cols = Math.toIntExact(shape.get(shape.dimension() - 1));
        double[] data;
        try (NDArray asDouble = x.toType(DataType.FLOAT64, true)) {
            data = asDouble.toDoubleArray();
        }
        for (int i = 0; i < data.length; i++) {
            if (!Double.isFinite(data[i])) {
                throw new IllegalArgumentException(name + " " + shape + " holds a non-finite"
                        + " value (" + data[i] + ") in the matrix at flat leading index "
                        + i / (rows * cols));
            }
        }
        return new BatchedMatrices(data, rows, cols);
    }

    /**
     * Returns the number of matrices in the stack (the product of the leading dimensions).
     *
     * @return the batch size
     */
    int batchSize() {
        return rows * cols == 0 ? 0 : data.length / (rows * cols);
    }

    /**
     * Returns a copy of one matrix of the stack.
     *
     * @param index the flat leading index
     * @return the matrix {@code [rows, cols]}
     */
    RealMatrix get(int index) {
        double[][] m = new double[rows][cols];
        int offset = index * rows * cols;
        for (int i = 0; i < rows; i++) {
            System.arraycopy(data, offset + i * cols, m[i], 0, cols);
        }
        return new Array2DRowRealMatrix(m, false);
    }

    /**
     * Collects results per leading index and turns them into one {@link NDArray}.
     */
    static final class Builder {
        private final double[] data;
        private final int stride;

        /**
         * Creates a builder for {@code batchSize} items of {@code stride} numbers each.
         *
         * @param batchSize number of leading indices
         * @param stride numbers per leading index (e.g. rows * cols)
         */
        Builder(int batchSize, int stride) {
            this.data = new double[Math.multiplyExact(batchSize, stride)];
            this.stride = stride;
        }

        /**
         * Stores a matrix at a leading index, row-major.
         *
         * @param index the flat leading index
         * @param m the matrix, {@code rows * cols == stride}
         */
        void put(int index, RealMatrix m) {
            int offset = index * stride;
            for (int i = 0; i < m.getRowDimension(); i++) {
                for (int j = 0; j < m.getColumnDimension(); j++) {
                    data[offset++] = m.getEntry(i, j);
                }
            }
        }

        /**
         * Stores a vector at a leading index.
         *
         * @param index the flat leading index
         * @param v the values, {@code v.length == stride}
         */
        void put(int index, double[] v) {
            System.arraycopy(v, 0, data, index * stride, stride);
        }

        /**
         * Creates the array; the caller owns it (it lives in {@code manager}).
         *
         * @param manager where the array is created
         * @param shape the full shape, {@code [..., stride...]}
         * @param dataType the element type to convert to
         * @return the new array
         */
        NDArray build(NDManager manager, Shape shape, DataType dataType) {
            NDArray asDouble = manager.create(data, shape);
            if (dataType == DataType.FLOAT64) {
                return asDouble;
            }
            try (asDouble) {
                return asDouble.toType(dataType, false);
            }
        }
    }
}
