package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import java.util.Arrays;

/**
 * A selection along one axis, TransformerLens's {@code utils.Slice}: everything ({@link #all()}), one index
 * that drops the axis ({@link #index(long)}, Python's {@code t[i]}), a Python-style range ({@link #range}, {@code
 * t[start:stop:step]}) or a list of indices gathered in order ({@link #indices(long...)}, {@code t[[i, j]]}).
 * Negative indices count from the end of the axis, as in Python.
 *
 * <p>ActivationCache methods take a {@code Slice} for their {@code posSlice}/{@code batchSlice} options:
 * {@code Slice.index(-1)} is TransformerLens's {@code pos_slice=-1} (the last position, axis dropped).
 */
public final class Slice {

    /** How a slice selects, TransformerLens's {@code Slice.mode}. */
    public enum Mode {
        /** Everything ({@code None}). */
        IDENTITY,
        /** One index; the axis is dropped ({@code int}). */
        INT,
        /** A Python range {@code start:stop:step} ({@code tuple} or {@code slice}). */
        SLICE,
        /** Indices gathered in order ({@code list} / tensor). */
        ARRAY
    }

    private static final Slice ALL = new Slice(Mode.IDENTITY, 0, null, null, 1, null);

    private final Mode mode;
    private final long index;
    private final Long start;
    private final Long stop;
    private final long step;
    private final long[] indices;

    private Slice(Mode mode, long index, Long start, Long stop, long step, long[] indices) {
        this.mode = mode;
        this.index = index;
        this.start = start;
        this.stop = stop;
        this.step = step;
        this.indices = indices;
    }

    /** Everything: the axis is left as it is ({@code Slice(None)}). */
    public static Slice all() {
        return ALL;
    }

    /** One index, dropping the axis ({@code Slice(i)}); {@code -1} is the last element. */
    public static Slice index(long i) {
        return new Slice(Mode.INT, i, null, null, 1, null);
    }

    /**
     * The Python range {@code start:stop} ({@code Slice((start, stop))}); a null bound is open, negative
     * bounds count from the end.
     */
    public static Slice range(Long start, Long stop) {
        return range(start, stop, 1);
    }

    /** The Python range {@code start:stop:step} with {@code step > 0} (PyTorch has no negative steps). */
    public static Slice range(Long start, Long stop, long step) {
        if (step <= 0) {
            throw new IllegalArgumentException("slice step must be positive, not " + step);
        }
        return new Slice(Mode.SLICE, 0, start, stop, step, null);
    }

    /** The indices gathered in this order; the axis keeps its place with length {@code indices.length}. */
    public static Slice indices(long... indices) {
        return new Slice(Mode.ARRAY, 0, null, null, 1, indices.clone());
    }

    /** How this slice selects. */
    public Mode mode() {
        return mode;
    }

    /**
     * The selection applied to one axis.
     *
     * @param array any array
     * @param dim the axis; negative counts from the end ({@code -2} is the position axis of {@code [batch,
     *     pos, d_model]})
     * @return a new array (a view for {@link Mode#INT} and {@link Mode#SLICE}); {@link Mode#IDENTITY} returns
     *     {@code array} itself
     */
    public NDArray apply(NDArray array, int dim) {
        if (mode == Mode.IDENTITY) {
            return array;
        }
        int rank = array.getShape().dimension();
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException("cannot slice axis " + dim + " of an array of shape " + array.getShape());
        }
        long size = array.getShape().get(d);
        NDIndex idx = new NDIndex().addAllDim(d);
        switch (mode) {
            case INT -> idx.addIndices(checkIndex(index, size));
            case SLICE -> {
                long[] bounds = bounds(size);
                idx.addSliceDim(bounds[0], Math.max(bounds[0], bounds[1]), step);
            }
            case ARRAY -> {
                long[] normalised = new long[indices.length];
                for (int i = 0; i < indices.length; i++) {
                    normalised[i] = checkIndex(indices[i], size);
                }
                try (NDArray gather = array.getManager().create(normalised)) {
                    return array.get(idx.addIndices("{}", gather));
                }
            }
            default -> throw new AssertionError(mode);
        }
        return array.get(idx);
    }

    /**
     * The indices this slice selects on an axis of length {@code size} (TransformerLens's
     * {@code Slice.indices}); {@link Mode#INT} gives one index.
     */
    public long[] indices(long size) {
        return switch (mode) {
            case IDENTITY -> range(size, 0, size, 1);
            case INT -> new long[] {checkIndex(index, size)};
            case SLICE -> {
                long[] b = bounds(size);
                yield range(size, b[0], b[1], step);
            }
            case ARRAY -> Arrays.stream(indices).map(i -> checkIndex(i, size)).toArray();
        };
    }

    private static long[] range(long size, long from, long to, long step) {
        long n = from >= to ? 0 : (to - from + step - 1) / step;
        long[] out = new long[(int) n];
        for (int i = 0; i < n; i++) {
            out[i] = from + i * step;
        }
        return out;
    }

    /** Python's {@code slice.indices(size)} for a positive step: clamped {@code [start, stop)}. */
    private long[] bounds(long size) {
        long from = start == null ? 0 : clamp(start < 0 ? start + size : start, size);
        long to = stop == null ? size : clamp(stop < 0 ? stop + size : stop, size);
        return new long[] {from, to};
    }

    private static long clamp(long i, long size) {
        return Math.max(0, Math.min(size, i));
    }

    private static long checkIndex(long i, long size) {
        long j = i < 0 ? i + size : i;
        if (j < 0 || j >= size) {
            throw new IndexOutOfBoundsException("index " + i + " is out of range for an axis of length " + size);
        }
        return j;
    }

    @Override
    public String toString() {
        return switch (mode) {
            case IDENTITY -> "Slice(all)";
            case INT -> "Slice(" + index + ")";
            case SLICE -> "Slice(" + (start == null ? "" : start) + ":" + (stop == null ? "" : stop)
                    + (step == 1 ? "" : ":" + step) + ")";
            case ARRAY -> "Slice(" + Arrays.toString(indices) + ")";
        };
    }
}
