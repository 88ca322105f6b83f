package org.lens4j.analysis.probes;

import java.util.Arrays;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Which positions of each sequence go into a probing set: {@link #all()}, {@link #from(int)} (e.g.
 * {@code from(1)} to leave out BOS), {@link #last()}, or explicit {@link #of(int...)} (negative
 * indices count from the end, as in Python). Immutable.
 */
public final class Positions {

    private final String spec;
    private final int start;
    private final int[] indices;

    private Positions(String spec, int start, int[] indices) {
        this.spec = spec;
        this.start = start;
        this.indices = indices;
    }

    /** Every position. */
    public static Positions all() {
        return new Positions("all", 0, null);
    }

    /** Positions {@code start, start + 1, ...} to the end of each sequence. */
    public static Positions from(int start) {
        if (start < 0) {
            throw new IllegalArgumentException("positions from: start must be >= 0, not " + start);
        }
        return new Positions("from:" + start, start, null);
    }

    /** The last position of each sequence. */
    public static Positions last() {
        return of(-1);
    }

    /** These positions; negative ones count from the end ({@code -1} is the last). */
    public static Positions of(int... indices) {
        if (indices.length == 0) {
            throw new IllegalArgumentException("positions: give at least one position");
        }
        String spec = indices.length == 1 && indices[0] == -1 ? "last"
                : String.join(",", Arrays.stream(indices).mapToObj(Integer::toString).toList());
        return new Positions(spec, 0, indices.clone());
    }

    /**
     * Parses {@code all}, {@code from:<k>}, {@code last}, or a comma-separated list such as {@code 3,5,-1}.
     *
     * @throws IllegalArgumentException naming the text if it is none of these
     */
    public static Positions parse(String text) {
        Objects.requireNonNull(text, "text");
        String t = text.trim();
        try {
            if (t.equals("all")) {
                return all();
            }
            if (t.equals("last")) {
                return last();
            }
            if (t.startsWith("from:")) {
                return from(Integer.parseInt(t.substring("from:".length()).trim()));
            }
            return of(Arrays.stream(t.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("positions '" + text + "' is not all, last, from:<k> or a list of "
                    + "positions like 3,5,-1", e);
        }
    }

    /**
     * The selected positions of a sequence, ascending, without repeats.
     *
     * @param length the sequence length
     * @throws IllegalArgumentException if a position does not exist in a sequence of this length
     */
    public int[] select(int length) {
        if (indices == null) {
            if (start >= length) {
                throw new IllegalArgumentException("positions " + spec + ": the sequence has only " + length
                        + " positions");
            }
            return IntStream.range(start, length).toArray();
        }
        int[] out = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int p = indices[i] < 0 ? length + indices[i] : indices[i];
            if (p < 0 || p >= length) {
                throw new IllegalArgumentException("position " + indices[i] + " does not exist in a sequence of "
                        + length + " tokens");
            }
            out[i] = p;
        }
        return Arrays.stream(out).sorted().distinct().toArray();
    }

    /** The text form, as {@link #parse} reads it. */
    @Override
    public String toString() {
        return spec;
    }
}
