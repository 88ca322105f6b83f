package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * A patch setter that fixes some axes of the activation to the index and patches everything else, for all
 * batch rows: with axes {@code {1, 2}} the index {@code [layer, i, j]} patches {@code act[:, i, j, ...]};
 * with no axes the index {@code [layer]} patches the whole activation. All of TransformerLens's setters are
 * regions.
 */
public final class PatchRegion implements PatchSetter {

    private final int[] axes;

    /**
     * @param axes the activation axes (1 = the first after batch) that {@code index[1..]} select, increasing
     */
    public PatchRegion(int... axes) {
        for (int i = 0; i < axes.length; i++) {
            if (axes[i] < 1 || (i > 0 && axes[i] <= axes[i - 1])) {
                throw new IllegalArgumentException("region axes must be increasing and >= 1 (axis 0 is the batch): "
                        + Arrays.toString(axes));
            }
        }
        this.axes = axes.clone();
    }

    /** The activation axes the index selects. */
    public int[] axes() {
        return axes.clone();
    }

    @Override
    public NDArray patch(NDArray corrupted, int[] index, NDArray clean) {
        if (!corrupted.getShape().equals(clean.getShape())) {
            throw new IllegalArgumentException("the clean activation has shape " + clean.getShape()
                    + " but the corrupted one has " + corrupted.getShape());
        }
        NDIndex region = region(corrupted.getShape(), index);
        NDArray out = corrupted.duplicate();
        out.set(region, clean.get(region));
        return out;
    }

    /** The NDIndex of the region, e.g. {@code ":, 3, 1"}; checks the index against the shape. */
    private NDIndex region(Shape shape, int[] index) {
        if (index.length != axes.length + 1) {
            throw new IllegalArgumentException("patch index " + Arrays.toString(index) + " must have "
                    + (axes.length + 1) + " entries (layer, then one per region axis)");
        }
        StringBuilder sb = new StringBuilder(":");
        int next = 0;
        for (int axis = 1; axis < shape.dimension(); axis++) {
            if (next < axes.length && axes[next] == axis) {
                int v = index[next + 1];
                if (v < 0 || v >= shape.get(axis)) {
                    throw new IllegalArgumentException("patch index " + Arrays.toString(index) + ": " + v
                            + " is out of range for axis " + axis + " of an activation of shape " + shape);
                }
                sb.append(", ").append(v);
                next++;
            } else {
                sb.append(", :");
            }
        }
        if (next < axes.length) {
            throw new IllegalArgumentException("region axes " + Arrays.toString(axes) + " do not fit an activation of shape "
                    + shape);
        }
        return new NDIndex(sb.toString());
    }

    /**
     * Applies one patch per variant to a stacked activation in one operation: variant j's rows get the
     * region of {@code indices.get(j)}. Same values as {@link #patch} on each variant's rows.
     *
     * @param stacked the corrupted activation of each variant {@code [variants, batch, ...]}
     * @param clean the clean activation {@code [batch, ...]}
     * @return the patched activations {@code [variants, batch, ...]}
     */
    NDArray patchStacked(NDArray stacked, List<int[]> indices, NDArray clean) {
        Shape act = clean.getShape();
        if (!stacked.getShape().slice(1).equals(act)) {
            throw new IllegalArgumentException("the clean activation has shape " + act
                    + " but the corrupted one has " + stacked.getShape().slice(1));
        }
        // mask [variants, 1, ...]: the region axes at full size, the other axes broadcast
        long[] maskShape = new long[act.dimension() + 1];
        maskShape[0] = indices.size();
        long[] strides = new long[act.dimension()];
        long perVariant = 1;
        for (int axis = act.dimension() - 1; axis >= 0; axis--) {
            boolean inRegion = Arrays.binarySearch(axes, axis) >= 0;
            maskShape[axis + 1] = inRegion ? act.get(axis) : 1;
            strides[axis] = perVariant;
            perVariant *= maskShape[axis + 1];
        }
        boolean[] mask = new boolean[(int) (perVariant * indices.size())];
        for (int j = 0; j < indices.size(); j++) {
            region(act, indices.get(j));
            long flat = j * perVariant;
            for (int i = 0; i < axes.length; i++) {
                flat += indices.get(j)[i + 1] * strides[axes[i]];
            }
            mask[(int) flat] = true;
        }
        Shape full = stacked.getShape();
        NDArray m = stacked.getManager().create(mask, new Shape(maskShape)).broadcast(full);
        return NDArrays.where(m, clean.expandDims(0).broadcast(full), stacked);
    }

    /**
     * Whether each region holds different values in two activations (NaN counts as different).
     *
     * @param a {@code [batch, ...]}
     * @param b the same shape
     * @return one flag per region, row-major over the region axes (as {@link #flatIndex})
     */
    boolean[] differs(NDArray a, NDArray b) {
        // the temporaries would land in a's manager: free them here
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            long[] counts = sumPerRegion(a.neq(b).toType(DataType.INT32, false)).toType(DataType.INT64, false)
                    .toLongArray();
            boolean[] out = new boolean[counts.length];
            for (int i = 0; i < counts.length; i++) {
                out[i] = counts[i] > 0;
            }
            return out;
        }
    }

    /** The row-major position of an index's region among all regions of an activation, or -1 if out of range. */
    int flatIndex(Shape shape, int[] index) {
        if (index.length != axes.length + 1) {
            return -1;
        }
        int flat = 0;
        for (int i = 0; i < axes.length; i++) {
            if (axes[i] >= shape.dimension() || index[i + 1] < 0 || index[i + 1] >= shape.get(axes[i])) {
                return -1;
            }
            flat = flat * (int) shape.get(axes[i]) + index[i + 1];
        }
        return flat;
    }

    /**
     * Sums a per-element quantity over each region: over the batch and every axis the region patches in
     * full (used by attribution patching).
     *
     * @param perElement {@code [batch, ...]}, the activation's shape
     * @return {@code [size of axes[0], size of axes[1], ...]}
     */
    NDArray sumPerRegion(NDArray perElement) {
        int dims = perElement.getShape().dimension();
        if (axes.length > 0 && axes[axes.length - 1] >= dims) {
            throw new IllegalArgumentException("region axes " + Arrays.toString(axes) + " do not fit an activation of shape "
                    + perElement.getShape());
        }
        int[] summed = new int[dims - axes.length];
        int n = 0;
        int next = 0;
        for (int axis = 0; axis < dims; axis++) {
            if (next < axes.length && axes[next] == axis) {
                next++;
            } else {
                summed[n++] = axis;
            }
        }
        return perElement.sum(summed);
    }

    @Override
    public String toString() {
        return "PatchRegion" + Arrays.toString(axes);
    }
}
