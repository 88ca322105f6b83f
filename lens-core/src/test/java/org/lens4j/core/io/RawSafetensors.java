package org.lens4j.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test helper: builds safetensors bytes by hand, so tests control every byte (including wrong ones). */
public final class RawSafetensors {

    private RawSafetensors() {}

    /**
     * The bytes of a file with the given header JSON (not padded) and data section.
     *
     * @param headerJson the header text, written as UTF-8
     * @param data the data section
     * @return the file's bytes
     */
    public static byte[] bytes(String headerJson, byte[] data) {
        byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + header.length + data.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length)
                .put(header)
                .put(data)
                .array();
    }

    /**
     * Writes a file with the given header JSON and data section.
     *
     * @param file where to write
     * @param headerJson the header text
     * @param data the data section
     * @return {@code file}
     * @throws IOException if writing fails
     */
    public static Path write(Path file, String headerJson, byte[] data) throws IOException {
        return Files.write(file, bytes(headerJson, data));
    }

    /**
     * Little-endian bytes of 16-bit values.
     *
     * @param values the values (only the low 16 bits are kept)
     * @return 2 bytes per value
     */
    public static byte[] shorts(int... values) {
        ByteBuffer buffer = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int value : values) {
            buffer.putShort((short) value);
        }
        return buffer.array();
    }

    /**
     * Little-endian bytes of float32 values.
     *
     * @param values the values
     * @return 4 bytes per value
     */
    public static byte[] floats(float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        return buffer.array();
    }
}
