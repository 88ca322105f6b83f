package org.lens4j.models.io;

import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.util.Arrays;
import net.razorvine.pickle.PickleException;
import org.lens4j.core.io.Safetensors;

/**
 * A tensor as a checkpoint's pickle describes it: a strided view into a storage, not yet loaded. Only
 * views that stay inside their storage can be built.
 */
final class TensorRef {

    private final StorageRef storage;
    private final long offset;
    private final long[] size;
    private final long[] stride;
    private final long numel;

    private TensorRef(StorageRef storage, long offset, long[] size, long[] stride, long numel) {
        this.storage = storage;
        this.offset = offset;
        this.size = size;
        this.stride = stride;
        this.numel = numel;
    }

    /**
     * Checks a view against its storage, as {@code torch._utils._rebuild_tensor_v2} receives it.
     *
     * @param storage the storage
     * @param offset the storage offset, in elements
     * @param size the sizes
     * @param stride the strides, in elements
     * @return the view
     * @throws PickleException if a size, stride or offset is negative, the ranks differ, or an element
     *     lies outside the storage
     */
    static TensorRef of(StorageRef storage, long offset, long[] size, long[] stride) {
        if (size.length != stride.length) {
            throw new PickleException("tensor on storage '" + storage.key() + "' has " + size.length + " sizes but "
                    + stride.length + " strides");
        }
        if (size.length > Safetensors.MAX_RANK) {
            throw new PickleException("tensor on storage '" + storage.key() + "' has more than "
                    + Safetensors.MAX_RANK + " dimensions");
        }
        String view = "tensor (offset " + offset + ", size " + Arrays.toString(size) + ", stride "
                + Arrays.toString(stride) + ") on storage '" + storage.key() + "' of " + storage.numel() + " elements";
        if (offset < 0 || Arrays.stream(size).anyMatch(s -> s < 0) || Arrays.stream(stride).anyMatch(s -> s < 0)) {
            throw new PickleException(view + " has a negative offset, size or stride");
        }
        try {
            long numel = 1;
            long last = offset;
            for (int d = 0; d < size.length; d++) {
                numel = Math.multiplyExact(numel, size[d]);
                if (size[d] > 0) {
                    last = Math.addExact(last, Math.multiplyExact(size[d] - 1, stride[d]));
                }
            }
            if (numel > Long.MAX_VALUE / Long.BYTES) {
                throw new PickleException(view + " has too many elements");
            }
            // An empty view touches nothing, but its offset must still be a place in the storage.
            boolean inside = numel == 0 ? offset <= storage.numel() : last < storage.numel();
            if (!inside) {
                throw new PickleException(view + " reaches outside the storage");
            }
            return new TensorRef(storage, offset, size.clone(), stride.clone(), numel);
        } catch (ArithmeticException e) {
            throw new PickleException(view + " overflows");
        }
    }

    /**
     * Returns the storage the view reads.
     *
     * @return the storage
     */
    StorageRef storage() {
        return storage;
    }

    /**
     * Returns the tensor's shape.
     *
     * @return the sizes as a shape ({@code []} for a scalar)
     */
    Shape shape() {
        return new Shape(size);
    }

    /**
     * Returns the number of elements.
     *
     * @return the product of the sizes
     */
    long numel() {
        return numel;
    }

    /**
     * Copies the view's elements, in C order, from the storage's bytes to the start of {@code target}.
     *
     * @param storageBytes the whole storage, from index 0
     * @param target receives {@code numel * element size} bytes from index 0
     */
    void gather(ByteBuffer storageBytes, ByteBuffer target) {
        int elementSize = storage.dtype().byteSize();
        if (numel == 0) {
            return;
        }
        if (isContiguous()) {
            target.put(0, storageBytes, (int) (offset * elementSize), (int) (numel * elementSize));
            return;
        }
        long[] index = new long[size.length];
        long source = offset;
        for (int written = 0; written < numel * elementSize; written += elementSize) {
            target.put(written, storageBytes, (int) (source * elementSize), elementSize);
            // Odometer step: advance the last dimension, carrying into earlier ones.
            for (int d = size.length - 1; d >= 0; d--) {
                index[d]++;
                source += stride[d];
                if (index[d] < size[d]) {
                    break;
                }
                source -= stride[d] * size[d];
                index[d] = 0;
            }
        }
    }

    /** C-contiguous, where dimensions of size 1 may have any stride (as in torch). */
    private boolean isContiguous() {
        long expected = 1;
        for (int d = size.length - 1; d >= 0; d--) {
            if (size[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= size[d];
        }
        return true;
    }
}
