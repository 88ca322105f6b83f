package org.lens4j.analysis;

/** The indices of the k largest or smallest values of an array, without sorting the whole array. */
public final class TopK {

    private TopK() {}

    /** The indices of the {@code k} largest values, largest first (ties: lower index first). */
    public static long[] largest(double[] values, int k) {
        return select(values, k, 1);
    }

    /** The indices of the {@code k} smallest values, smallest first (ties: lower index first). */
    public static long[] smallest(double[] values, int k) {
        return select(values, k, -1);
    }

    /** Keeps the best {@code k} in a small sorted buffer: O(n k) worst case, O(n) for typical data. */
    private static long[] select(double[] values, int k, int sign) {
        int n = Math.max(0, Math.min(k, values.length));
        long[] best = new long[n];
        if (n == 0) {
            return best;
        }
        double[] keys = new double[n];
        int size = 0;
        for (int i = 0; i < values.length; i++) {
            double key = sign * values[i];
            if (size == n && !(key > keys[n - 1])) {
                continue;
            }
            int at = size < n ? size++ : n - 1;
            while (at > 0 && key > keys[at - 1]) {
                keys[at] = keys[at - 1];
                best[at] = best[at - 1];
                at--;
            }
            keys[at] = key;
            best[at] = i;
        }
        return best;
    }
}
