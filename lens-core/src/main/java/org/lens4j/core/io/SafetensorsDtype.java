package org.lens4j.core.io;

import ai.djl.ndarray.types.DataType;

/**
 * The element types lens4j reads from weight files, named as in safetensors, with their size on disk and
 * the DJL type they load as. PyTorch checkpoints' storage classes map onto the same types.
 *
 * <p>DJL 0.35.1's PyTorch engine cannot hold {@code bfloat16} or {@code int16} tensors (creating one
 * aborts the JVM in native code), so {@link #BF16} loads widened to {@code float32} and {@link #I16}
 * to {@code int32}. Both widenings are exact.
 */
public enum SafetensorsDtype {
    /** IEEE float32. */
    F32(4, DataType.FLOAT32),
    /** IEEE float16. */
    F16(2, DataType.FLOAT16),
    /** bfloat16, loaded as float32 (exact). */
    BF16(2, DataType.FLOAT32),
    /** IEEE float64. */
    F64(8, DataType.FLOAT64),
    /** Signed 64-bit integer. */
    I64(8, DataType.INT64),
    /** Signed 32-bit integer. */
    I32(4, DataType.INT32),
    /** Signed 16-bit integer, loaded as int32 (exact). */
    I16(2, DataType.INT32),
    /** Signed 8-bit integer. */
    I8(1, DataType.INT8),
    /** Unsigned 8-bit integer. */
    U8(1, DataType.UINT8),
    /** Boolean, one byte per element holding 0 or 1. */
    BOOL(1, DataType.BOOLEAN);

    private final int byteSize;
    private final DataType loadedAs;

    SafetensorsDtype(int byteSize, DataType loadedAs) {
        this.byteSize = byteSize;
        this.loadedAs = loadedAs;
    }

    /**
     * Returns the number of bytes one element takes in the file.
     *
     * @return bytes per element on disk
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Returns the DJL type a tensor of this dtype has once loaded.
     *
     * @return the DJL data type of the loaded array
     */
    public DataType loadedAs() {
        return loadedAs;
    }

    /**
     * Returns the dtype a DJL array is written as: the one that loads back as the same DJL type.
     *
     * @param type the array's DJL data type
     * @return the safetensors dtype holding it without loss
     * @throws IllegalArgumentException if safetensors (as read by lens4j) has no such type
     */
    public static SafetensorsDtype of(DataType type) {
        switch (type) {
            case FLOAT32:
                return F32;
            case FLOAT16:
                return F16;
            case FLOAT64:
                return F64;
            case INT64:
                return I64;
            case INT32:
                return I32;
            case INT8:
                return I8;
            case UINT8:
                return U8;
            case BOOLEAN:
                return BOOL;
            default:
                throw new IllegalArgumentException("no safetensors dtype for DJL type " + type);
        }
    }
}
