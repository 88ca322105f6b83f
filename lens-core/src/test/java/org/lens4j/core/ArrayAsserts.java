package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Comparator;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;

/** Test helpers: fixture loading and numerical comparisons with readable failure messages. */
final class ArrayAsserts {

    private ArrayAsserts() {}

    /** Reads a safetensors file from the test classpath, e.g. {@code fixtures/x/analysis.safetensors}. */
    static NDList loadResource(NDManager manager, String resource) {
        try (InputStream in = ArrayAsserts.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("missing test resource " + resource);
            }
            return NDList.decode(manager, in);
        } catch (IOException e) {
            throw new UncheckedIOException(resource, e);
        }
    }

    /** Asserts equal shapes and max |actual - expected| <= atol, reporting the worst element. */
    static void assertAllClose(NDArray actual, NDArray expected, double atol, String what) {
        assertThat(actual.getShape()).as(what + " shape").isEqualTo(expected.getShape());
        double[] x = toDoubles(actual);
        double[] y = toDoubles(expected);
        int worst = -1;
        double maxDiff = 0;
        for (int i = 0; i < x.length; i++) {
            double d = Math.abs(x[i] - y[i]);
            if (!(d <= maxDiff)) {
                maxDiff = d;
                worst = i;
            }
        }
        assertThat(maxDiff).as("%s: max abs diff at flat index %d (actual %s, expected %s)", what,
                worst, worst < 0 ? "-" : x[worst], worst < 0 ? "-" : y[worst]).isLessThanOrEqualTo(atol);
    }

    static double[] toDoubles(NDArray x) {
        try (NDArray d = x.toType(DataType.FLOAT64, true)) {
            return d.toDoubleArray();
        }
    }

    /** Row-major [rows, cols] block number {@code index} of a stacked array, as a Commons Math matrix. */
    static RealMatrix matrix(NDArray stack, int index) {
        long[] s = stack.getShape().getShape();
        int rows = (int) s[s.length - 2];
        int cols = (int) s[s.length - 1];
        double[] all = toDoubles(stack);
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(all, index * rows * cols + i * cols, m[i], 0, cols);
        }
        return new Array2DRowRealMatrix(m, false);
    }

    /** Creates a float32 array from a Commons Math matrix. */
    static NDArray toArray(NDManager manager, RealMatrix m) {
        float[] data = new float[m.getRowDimension() * m.getColumnDimension()];
        for (int i = 0; i < m.getRowDimension(); i++) {
            for (int j = 0; j < m.getColumnDimension(); j++) {
                data[i * m.getColumnDimension() + j] = (float) m.getEntry(i, j);
            }
        }
        return manager.create(data, new ai.djl.ndarray.types.Shape(m.getRowDimension(), m.getColumnDimension()));
    }

    /**
     * Asserts that two lists of complex numbers are equal as multisets: each expected value is
     * matched with the nearest unused actual value, which must be within atol in both parts.
     */
    static void assertSameComplexMultiset(double[] re, double[] im, double[] expRe, double[] expIm,
            double atol, String what) {
        assertThat(re.length).as(what + " count").isEqualTo(expRe.length);
        Integer[] order = new Integer[expRe.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // Match the largest expected values first, so that clusters near zero are matched last.
        Arrays.sort(order, Comparator.comparingDouble(i -> -Math.hypot(expRe[i], expIm[i])));
        boolean[] used = new boolean[re.length];
        for (int i : order) {
            int best = -1;
            double bestDist = Double.POSITIVE_INFINITY;
            for (int j = 0; j < re.length; j++) {
                double dist = Math.hypot(re[j] - expRe[i], im[j] - expIm[i]);
                if (!used[j] && dist < bestDist) {
                    best = j;
                    bestDist = dist;
                }
            }
            used[best] = true;
            assertThat(Math.max(Math.abs(re[best] - expRe[i]), Math.abs(im[best] - expIm[i])))
                    .as("%s: expected %s%+si, nearest unmatched actual %s%+si", what, expRe[i],
                            expIm[i], re[best], im[best])
                    .isLessThanOrEqualTo(atol);
        }
    }
}
