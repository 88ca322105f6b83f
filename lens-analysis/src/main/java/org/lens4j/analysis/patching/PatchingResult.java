package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.DoubleUnaryOperator;

/**
 * The numbers of a patching experiment with labelled axes, e.g. {@code [layer, pos]} for a resid_pre sweep.
 * Plain Java data (no native memory), row-major, immutable.
 *
 * <p>Each axis has a name and labels (by default the indices {@code "0", "1", ...}); {@link #withLabels}
 * attaches, say, the string tokens to the {@code pos} axis for plots.
 */
public final class PatchingResult {

    private final double[] values;
    private final long[] shape;
    private final List<String> axisNames;
    private final Map<String, List<String>> labels;

    /**
     * @param values row-major values, as many as the shape holds
     * @param shape the size of each axis
     * @param axisNames one name per axis
     */
    public PatchingResult(double[] values, long[] shape, List<String> axisNames) {
        this(values.clone(), shape.clone(), List.copyOf(axisNames), Map.of());
    }

    private PatchingResult(double[] values, long[] shape, List<String> axisNames, Map<String, List<String>> labels) {
        if (shape.length != axisNames.size()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " and axes " + axisNames
                    + " differ in length");
        }
        if (new java.util.HashSet<>(axisNames).size() != axisNames.size()) {
            throw new IllegalArgumentException("axis names must be distinct: " + axisNames);
        }
        if (values.length != size(shape)) {
            throw new IllegalArgumentException(values.length + " values do not fill shape " + Arrays.toString(shape));
        }
        this.values = values;
        this.shape = shape;
        this.axisNames = axisNames;
        this.labels = labels;
    }

    private static long size(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** The shape, e.g. {@code (n_layers, pos)}. */
    public Shape shape() {
        return new Shape(shape);
    }

    /** The axis names, e.g. {@code [layer, pos]}. */
    public List<String> axisNames() {
        return axisNames;
    }

    /** A copy of the values, row-major. */
    public double[] values() {
        return values.clone();
    }

    /** The value at an index, one entry per axis. */
    public double get(long... index) {
        return values[(int) flatIndex(index)];
    }

    private long flatIndex(long[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " needs " + shape.length + " entries "
                    + axisNames);
        }
        long flat = 0;
        for (int a = 0; a < shape.length; a++) {
            if (index[a] < 0 || index[a] >= shape[a]) {
                throw new IllegalArgumentException("index " + index[a] + " is out of range for axis '" + axisNames.get(a)
                        + "' of size " + shape[a]);
            }
            flat = flat * shape[a] + index[a];
        }
        return flat;
    }

    /** The position of an axis by name. */
    public int axis(String name) {
        int a = axisNames.indexOf(name);
        if (a < 0) {
            throw new IllegalArgumentException("no axis '" + name + "' in " + axisNames);
        }
        return a;
    }

    /** The labels of an axis: those attached with {@link #withLabels}, else {@code "0", "1", ...}. */
    public List<String> labels(String axis) {
        List<String> given = labels.get(axisNames.get(axis(axis)));
        if (given != null) {
            return given;
        }
        List<String> numbers = new ArrayList<>();
        for (long i = 0; i < shape[axis(axis)]; i++) {
            numbers.add(Long.toString(i));
        }
        return numbers;
    }

    /** This result with labels for one axis (as many as its size), e.g. the string tokens for {@code pos}. */
    public PatchingResult withLabels(String axis, List<String> axisLabels) {
        int a = axis(axis);
        if (axisLabels.size() != shape[a]) {
            throw new IllegalArgumentException(axisLabels.size() + " labels for axis '" + axis + "' of size " + shape[a]);
        }
        Map<String, List<String>> l = new HashMap<>(labels);
        l.put(axis, List.copyOf(axisLabels));
        return new PatchingResult(values, shape, axisNames, Map.copyOf(l));
    }

    /** Applies a function to every value (e.g. to normalise), keeping axes and labels. */
    public PatchingResult map(DoubleUnaryOperator f) {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = f.applyAsDouble(values[i]);
        }
        return new PatchingResult(out, shape, axisNames, labels);
    }

    /** The sub-result at one index of the first axis (e.g. the resid_pre slice of a block_every result). */
    public PatchingResult slice(long first) {
        if (first < 0 || first >= shape[0]) {
            throw new IllegalArgumentException("index " + first + " is out of range for axis '" + axisNames.get(0)
                    + "' of size " + shape[0]);
        }
        long[] sub = Arrays.copyOfRange(shape, 1, shape.length);
        int n = (int) size(sub);
        double[] out = Arrays.copyOfRange(values, (int) first * n, (int) first * n + n);
        Map<String, List<String>> l = new HashMap<>(labels);
        l.remove(axisNames.get(0));
        return new PatchingResult(out, sub, axisNames.subList(1, axisNames.size()), Map.copyOf(l));
    }

    /** The axes in another order, e.g. {@code transpose("layer", "pos", "head")}. */
    public PatchingResult transpose(String... order) {
        if (order.length != shape.length) {
            throw new IllegalArgumentException("transpose needs all axes " + axisNames + ", got " + Arrays.toString(order));
        }
        int[] perm = new int[order.length];
        long[] newShape = new long[order.length];
        for (int i = 0; i < order.length; i++) {
            perm[i] = axis(order[i]);
            newShape[i] = shape[perm[i]];
        }
        if (Arrays.stream(perm).distinct().count() != perm.length) {
            throw new IllegalArgumentException("transpose repeats an axis: " + Arrays.toString(order));
        }
        double[] out = new double[values.length];
        long[] idx = new long[shape.length];
        long[] oldIdx = new long[shape.length];
        for (int flat = 0; flat < out.length; flat++) {
            long rest = flat;
            for (int a = shape.length - 1; a >= 0; a--) {
                idx[a] = rest % newShape[a];
                rest /= newShape[a];
            }
            for (int a = 0; a < perm.length; a++) {
                oldIdx[perm[a]] = idx[a];
            }
            out[flat] = values[(int) flatIndex(oldIdx)];
        }
        return new PatchingResult(out, newShape, List.of(order), labels);
    }

    /**
     * Stacks results of equal shape along a new first axis (TransformerLens's {@code torch.stack} in the
     * {@code *_every} helpers).
     *
     * @param axis the name of the new axis
     * @param axisLabels one label per result
     */
    public static PatchingResult stack(String axis, List<String> axisLabels, List<PatchingResult> results) {
        if (results.isEmpty() || results.size() != axisLabels.size()) {
            throw new IllegalArgumentException("stack needs one label per result: " + axisLabels.size() + " labels, "
                    + results.size() + " results");
        }
        PatchingResult first = results.get(0);
        double[] out = new double[first.values.length * results.size()];
        for (int i = 0; i < results.size(); i++) {
            PatchingResult r = results.get(i);
            if (!Arrays.equals(r.shape, first.shape)) {
                throw new IllegalArgumentException("cannot stack shapes " + Arrays.toString(first.shape) + " and "
                        + Arrays.toString(r.shape));
            }
            System.arraycopy(r.values, 0, out, i * first.values.length, first.values.length);
        }
        long[] shape = new long[first.shape.length + 1];
        shape[0] = results.size();
        System.arraycopy(first.shape, 0, shape, 1, first.shape.length);
        List<String> names = new ArrayList<>();
        names.add(axis);
        names.addAll(first.axisNames);
        Map<String, List<String>> l = new HashMap<>(first.labels);
        l.put(axis, List.copyOf(axisLabels));
        return new PatchingResult(out, shape, names, Map.copyOf(l));
    }

    /** The values as a float32 array of this shape (TransformerLens returns float32 tensors), owned by {@code m}. */
    public NDArray toNDArray(NDManager m) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        return m.create(f, new Shape(shape));
    }

    /** The largest value. */
    public double max() {
        return Arrays.stream(values).max().orElseThrow();
    }

    /** The smallest value. */
    public double min() {
        return Arrays.stream(values).min().orElseThrow();
    }

    /** The index of the largest value, one entry per axis. */
    public long[] argmax() {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        long[] idx = new long[shape.length];
        long rest = best;
        for (int a = shape.length - 1; a >= 0; a--) {
            idx[a] = rest % shape[a];
            rest /= shape[a];
        }
        return idx;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PatchingResult r && Arrays.equals(values, r.values) && Arrays.equals(shape, r.shape)
                && axisNames.equals(r.axisNames) && labels.equals(r.labels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(values), Arrays.hashCode(shape), axisNames);
    }

    @Override
    public String toString() {
        return "PatchingResult" + axisNames + " " + Arrays.toString(shape);
    }
}
