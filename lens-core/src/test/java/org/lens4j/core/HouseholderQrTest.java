package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.MatrixUtils;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.Test;

/** {@link HouseholderQr}: Q orthonormal, R upper triangular, Q R = X, for any rank. */
class HouseholderQrTest {

    private static final double TOL = 1e-12;

    private static RealMatrix randn(Random random, int rows, int cols) {
        double[][] data = new double[rows][cols];
        for (double[] row : data) {
            for (int j = 0; j < cols; j++) {
                row[j] = random.nextGaussian();
            }
        }
        return new Array2DRowRealMatrix(data, false);
    }

    private static void assertValidQr(RealMatrix x) {
        HouseholderQr qr = HouseholderQr.of(x);
        int cols = x.getColumnDimension();
        assertThat(qr.q().getRowDimension()).isEqualTo(x.getRowDimension());
        assertThat(qr.q().getColumnDimension()).isEqualTo(cols);
        assertThat(qr.q().transpose().multiply(qr.q()).subtract(MatrixUtils.createRealIdentityMatrix(cols))
                .getNorm()).as("Q^T Q - I").isLessThan(TOL);
        assertThat(qr.q().multiply(qr.r()).subtract(x).getNorm()).as("Q R - X")
                .isLessThan(TOL * Math.max(1, x.getNorm()));
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < i; j++) {
                assertThat(qr.r().getEntry(i, j)).as("R[%d, %d]", i, j).isZero();
            }
        }
    }

    @Test
    void decomposesTallAndSquareMatrices() {
        Random random = new Random(3);
        assertValidQr(randn(random, 768, 64));
        assertValidQr(randn(random, 7, 3));
        assertValidQr(randn(random, 5, 5));
        assertValidQr(randn(random, 4, 1));
    }

    @Test
    void handlesRankDeficientMatrices() {
        Random random = new Random(4);
        RealMatrix x = randn(random, 6, 4);
        x.setColumn(1, x.getColumn(0));
        x.setColumn(3, new double[6]);
        assertValidQr(x);
        assertValidQr(new Array2DRowRealMatrix(6, 3));
    }

    @Test
    void rejectsWideMatrices() {
        assertThatThrownBy(() -> HouseholderQr.of(new Array2DRowRealMatrix(2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 x 3");
    }
}
