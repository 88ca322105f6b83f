package org.lens4j.core.testing;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Element-wise comparison of arrays with an absolute tolerance, reporting the worst element. */
public final class ArrayAssert {

    private ArrayAssert() {}

    /**
     * Asserts equal shapes and {@code |actual - expected| <= atol} everywhere; infinities must match
     * exactly (masked attention scores are {@code -inf}).
     */
    public static void assertClose(String what, NDArray actual, NDArray expected, double atol) {
        assertThat(actual.getShape()).as(what + " shape").isEqualTo(expected.getShape());
        double[] a = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        double[] e = expected.toType(DataType.FLOAT64, false).toDoubleArray();
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < a.length; i++) {
            if (Double.isInfinite(e[i]) || Double.isNaN(e[i])) {
                assertThat(a[i]).as(what + " element " + i).isEqualTo(e[i]);
                continue;
            }
            double d = Math.abs(a[i] - e[i]);
            if (!(d <= worst)) {
                worst = d;
                worstAt = i;
            }
        }
        assertThat(worst).as(what + ": max abs diff at flat index " + worstAt).isLessThanOrEqualTo(atol);
    }

    /** The largest absolute difference (for reporting). */
    public static double maxAbsDiff(NDArray actual, NDArray expected) {
        double[] a = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        double[] e = expected.toType(DataType.FLOAT64, false).toDoubleArray();
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            if (!Double.isInfinite(e[i])) {
                worst = Math.max(worst, Math.abs(a[i] - e[i]));
            }
        }
        return worst;
    }
}
