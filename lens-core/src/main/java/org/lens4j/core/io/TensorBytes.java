package org.lens4j.core.io;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Builds arrays from raw little-endian, C-order tensor bytes, as weight files store them. The bytes go
 * straight into memory the engine owns (an uninitialised CPU tensor, seen through {@link
 * NDArray#toByteBuffer(boolean) toByteBuffer(true)}): no Java heap copy, no staging copy, and the memory is
 * freed when the array closes. Shared by the weight-file readers.
 */
public final class TensorBytes {

    /** Writes a tensor's raw bytes into the buffer it is given. */
    @FunctionalInterface
    public interface Source {

        /**
         * Fills {@code target} from its position 0 to its limit (the tensor's size on disk).
         *
         * @param target little-endian memory of the array being built
         * @throws IOException if the bytes cannot be read
         */
        void fill(ByteBuffer target) throws IOException;
    }

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
     * Builds an array of type {@code dtype.loadedAs()} on the manager's device from raw bytes that {@code
     * source} writes. {@code BF16} and {@code I16} are widened in place; {@code BOOL} bytes are checked.
     *
     * @param file the file being read, for error messages
     * @param name the tensor name, given to the array and used in error messages
     * @param dtype the element type of the raw bytes
     * @param shape the tensor shape
     * @param manager the manager that will own the array
     * @param source writes the raw bytes
     * @return the array
     * @throws MalformedWeightsException if a {@code BOOL} byte is neither 0 nor 1
     * @throws IOException if the tensor is over 2 GiB (the most DJL can expose) or the source fails
     */
    public static NDArray load(Path file, String name, SafetensorsDtype dtype, Shape shape, NDManager manager,
            Source source) throws IOException {
        long count = shape.size();
        long loaded = loadedBytes(dtype, count);
        if (loaded > Integer.MAX_VALUE) {
            throw new IOException(file + ": '" + name + "': " + loaded
                    + " bytes is more than one DJL array can be loaded into (2 GiB)");
        }
        // Built on the CPU, where the engine exposes tensor memory, then moved if the manager is elsewhere.
        try (NDManager host = manager.newSubManager(Device.cpu())) {
            NDArray array = host.create(shape, dtype.loadedAs());
            if (count > 0) {
                ByteBuffer memory = memory(array);
                memory.limit((int) (count * dtype.byteSize()));
                source.fill(memory);
                memory.clear();
                switch (dtype) {
                    case BF16:
                        widenInPlace(memory, (int) count, true);
                        break;
                    case I16:
                        widenInPlace(memory, (int) count, false);
                        break;
                    case BOOL:
                        checkBooleans(file, name, memory, (int) count);
                        break;
                    default:
                        break;
                }
            }
            NDArray result = array.toDevice(manager.getDevice(), false);
            result.setName(name);
            result.attach(manager);
            return result;
        }
    }

    /**
     * Returns the memory of a non-empty, contiguous CPU array as a little-endian buffer: writes to it change
     * the array. Valid until the array closes.
     *
     * @param array the array
     * @return a direct buffer over the array's bytes
     * @throws IllegalStateException if the engine does not expose array memory (lens4j needs PyTorch)
     */
    public static ByteBuffer memory(NDArray array) {
        ByteBuffer memory = array.toByteBuffer(true);
        long bytes = array.getShape().size() * array.getDataType().getNumOfBytes();
        if (!memory.isDirect() || memory.capacity() != bytes) {
            throw new IllegalStateException("the engine does not expose array memory; lens4j needs the PyTorch "
                    + "engine");
        }
        return memory.order(ByteOrder.LITTLE_ENDIAN);
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
