package org.lens4j.analysis.circuits;

import java.util.Arrays;

/**
 * One right singular direction of a weight matrix read through the unembedding: its projection
 * {@code v @ W_U} onto every output token, summarised by the tokens at both ends (a singular vector's sign
 * is arbitrary, so both ends matter).
 *
 * @param index the rank of the direction (0 = largest singular value)
 * @param singularValue its singular value
 * @param topTokens the tokens with the largest projection, largest first
 * @param topValues their projections
 * @param bottomTokens the tokens with the smallest (most negative) projection, smallest first
 * @param bottomValues their projections
 */
public record SingularDirection(int index, double singularValue, long[] topTokens, double[] topValues,
        long[] bottomTokens, double[] bottomValues) {

    @Override
    public boolean equals(Object o) {
        return o instanceof SingularDirection d && index == d.index && singularValue == d.singularValue
                && Arrays.equals(topTokens, d.topTokens) && Arrays.equals(topValues, d.topValues)
                && Arrays.equals(bottomTokens, d.bottomTokens) && Arrays.equals(bottomValues, d.bottomValues);
    }

    @Override
    public int hashCode() {
        return 31 * Integer.hashCode(index) + Arrays.hashCode(topTokens);
    }

    @Override
    public String toString() {
        return "SingularDirection(" + index + ", s=" + singularValue + ", top " + Arrays.toString(topTokens)
                + ", bottom " + Arrays.toString(bottomTokens) + ")";
    }
}
