package org.lens4j.core;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * Thin QR decomposition {@code X = Q R} of a tall matrix by Householder reflections, in float64:
 * {@code Q [rows, cols]} has orthonormal columns, {@code R [cols, cols]} is upper triangular.
 * This is how LAPACK starts the SVD of a tall matrix, so that the expensive iterations run on
 * the small square R; Commons Math's SVD works on the tall matrix directly and is several times
 * slower for a {@code [d_model, d_head]} weight. (Commons Math's own QR forms the full
 * {@code [rows, rows]} Q.)
 */
final class HouseholderQr {

    private final RealMatrix q;
    private final RealMatrix r;

    private HouseholderQr(RealMatrix q, RealMatrix r) {
        this.q = q;
        this.r = r;
    }

    /**
     * Decomposes {@code x}.
     *
     * @param x a matrix {@code [rows, cols]} with {@code rows >= cols}; any rank
     * @return its thin QR decomposition
     * @throws IllegalArgumentException if {@code rows < cols}
     */
    static HouseholderQr of(RealMatrix x) {
        int rows = x.getRowDimension();
        int cols = x.getColumnDimension();
        if (rows < cols) {
            throw new IllegalArgumentException("thin QR needs rows >= cols, got " + rows + " x "
                    + cols);
        }
        // Column-major working copy; reflector k is stored in rows k.. of column k.
        double[][] col = x.transpose().getData();
        double[] beta = new double[cols];
        double[][] r = new double[cols][cols];
        for (int k = 0; k < cols; k++) {
            double[] v = col[k];
            double norm = Math.sqrt(dot(v, v, k, rows));
            if (norm > 0) {
                // Reflect column k onto -sign(x_kk) |x_k| e_k (no cancellation in v_k).
                double alpha = v[k] > 0 ? -norm : norm;
                v[k] -= alpha;
                beta[k] = 2 / dot(v, v, k, rows);
                for (int j = k + 1; j < cols; j++) {
                    reflect(v, beta[k], col[j], k, rows);
                }
                r[k][k] = alpha;
            }
            for (int j = k + 1; j < cols; j++) {
                r[k][j] = col[j][k];
            }
        }
        // Q = H_0 H_1 ... H_{cols-1} applied to the first cols columns of the identity.
        double[][] qCol = new double[cols][rows];
        for (int k = cols - 1; k >= 0; k--) {
            qCol[k][k] = 1;
            if (beta[k] != 0) {
                for (int j = k; j < cols; j++) {
                    reflect(col[k], beta[k], qCol[j], k, rows);
                }
            }
        }
        return new HouseholderQr(new Array2DRowRealMatrix(qCol, false).transpose(),
                new Array2DRowRealMatrix(r, false));
    }

    /**
     * Returns Q.
     *
     * @return Q {@code [rows, cols]}, orthonormal columns
     */
    RealMatrix q() {
        return q;
    }

    /**
     * Returns R.
     *
     * @return R {@code [cols, cols]}, upper triangular
     */
    RealMatrix r() {
        return r;
    }

    private static double dot(double[] x, double[] y, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += x[i] * y[i];
        }
        return sum;
    }

    /** y <- (I - beta v v^T) y on rows {@code from..to-1}. */
    private static void reflect(double[] v, double beta, double[] y, int from, int to) {
        double scale = beta * dot(v, y, from, to);
        for (int i = from; i < to; i++) {
            y[i] -= scale * v[i];
        }
    }
}
