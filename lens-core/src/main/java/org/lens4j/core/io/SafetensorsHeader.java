package org.lens4j.core.io;

import ai.djl.ndarray.types.Shape;
import java.util.Map;

/**
 * The validated header of a safetensors file: where each tensor lies, and the free-form metadata.
 *
 * @param tensors the tensors in header order, by name (unmodifiable)
 * @param metadata the {@code __metadata__} map, empty if the file has none (unmodifiable)
 * @param dataStart the absolute file offset of the data section ({@code 8 + header length})
 */
public record SafetensorsHeader(Map<String, Entry> tensors, Map<String, String> metadata, long dataStart) {

    /**
     * One tensor's header entry.
     *
     * @param name the tensor name
     * @param dtype the element type on disk
     * @param shape the tensor shape ({@code []} for a scalar)
     * @param begin the first byte of the tensor's data, relative to the data section
     * @param end one past the last byte, relative to the data section
     */
    public record Entry(String name, SafetensorsDtype dtype, Shape shape, long begin, long end) {

        /**
         * Returns the number of bytes the tensor takes in the file.
         *
         * @return {@code end - begin}
         */
        public long byteLength() {
            return end - begin;
        }
    }
}
