package org.lens4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Turns raw little-endian, C-order tensor bytes, as weight files store them, into arrays that own their
 * memory in the engine. Shared by the weight-file readers.
 */
public final class TensorBytes {

    private TensorBytes() {}

    /**
     * Returns the bytes a tensor takes once loaded: {@code BF16} and {@code I16} widen to 4 bytes.
     *
     * @param dtype the element type on disk
     * @param numel the number of elements
     * @return the loaded size in bytes
     */
    public static long loadedBytes(SafetensorsDtype dtype, long numel) {
        return Math.multiplyExact(numel, (long) dtype.loadedAs().getNumOfBytes());
    }

    /**
     * Allocates a little-endian direct buffer to stage tensors of up to {@code bytes} loaded bytes.
     *
     * @param file the file being read, for the error message
     * @param tensor the largest tensor, for the error message
     * @param bytes the capacity needed
     * @return a direct buffer of that capacity
     * @throws IOException if the tensor is larger than one DJL array can be built from (2 GiB)
     */
    public static ByteBuffer staging(Path file, String tensor, long bytes) throws IOException {
        if (bytes > Integer.MAX_VALUE) {
            throw new IOException(file + ": '" + tensor + "': " + bytes
                    + " bytes is more than one DJL array can be built from (2 GiB)");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Builds an array from the raw bytes at the start of a direct staging buffer. The staging buffer is
     * free for reuse once this returns: the array holds a copy in engine memory, freed when it closes.
     *
     * @param file the file being read, for error messages
     * @param name the tensor name, given to the array and used in error messages
     * @param staging a direct buffer holding {@code numel * dtype.byteSize()} raw bytes from position 0,
     *     with capacity for {@link #loadedBytes} (its position and limit are changed)
     * @param dtype the element type of the raw bytes
     * @param shape the tensor shape, {@code numel} elements
     * @param manager the manager that will own the array
     * @return the array, of type {@code dtype.loadedAs()}
     * @throws MalformedWeightsException if a {@code BOOL} byte is neither 0 nor 1
     */
    public static NDArray toArray(Path file, String name, ByteBuffer staging, SafetensorsDtype dtype, Shape shape,
            NDManager manager) throws MalformedWeightsException {
        int count = Math.toIntExact(shape.size());
        // The engine reads from the buffer's base address, so position 0 and an exact limit.
        staging.position(0).limit((int) loadedBytes(dtype, count));
        switch (dtype) {
            case BF16:
                widenInPlace(staging, count, true);
                break;
            case I16:
                widenInPlace(staging, count, false);
                break;
            case BOOL:
                checkBooleans(file, name, staging, count);
                break;
            default:
                break;
        }
        NDArray view = manager.create(staging, shape, dtype.loadedAs());
        try {
            // The view shares the staging buffer; the copy owns engine memory.
            NDArray owned = view.duplicate();
            owned.setName(name);
            return owned;
        } finally {
            view.close();
        }
    }

    /**
     * Widens {@code count} 16-bit values at the start of the buffer to 32-bit values filling {@code 4 *
     * count} bytes. Going from the last element down, each write lands at or after the 16-bit values not
     * yet read, so no second buffer is needed.
     */
    private static void widenInPlace(ByteBuffer buffer, int count, boolean bfloat16) {
        for (int i = count - 1; i >= 0; i--) {
            short bits = buffer.getShort(2 * i);
            // bfloat16 is the top half of a float32; int16 sign-extends.
            buffer.putInt(4 * i, bfloat16 ? (bits & 0xFFFF) << 16 : bits);
        }
    }

    private static void checkBooleans(Path file, String name, ByteBuffer buffer, int count)
            throws MalformedWeightsException {
        for (int i = 0; i < count; i++) {
            byte value = buffer.get(i);
            if (value != 0 && value != 1) {
                throw new MalformedWeightsException(file, name, "BOOL element " + i + " is byte " + (value & 0xFF)
                        + ", not 0 or 1");
            }
        }
    }
}
