package org.lens4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import java.io.EOFException;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * Reads and writes <a href="https://github.com/huggingface/safetensors">safetensors</a> files.
 *
 * <p>Layout: an unsigned 64-bit little-endian header length {@code N}, {@code N} bytes of UTF-8 JSON
 * {@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}}, then the
 * raw little-endian, C-order tensor data; offsets are relative to the start of the data section.
 *
 * <p>The whole header is validated before any tensor data is read, with the rules of the reference
 * implementation: header length within the file and at most {@link #MAX_HEADER_BYTES}, strict JSON of the
 * right structure, known dtypes, non-negative dimensions, {@code end - begin == numel * dtype size}
 * (overflow-checked), and tensors that tile the data section exactly: no overlap, no gap, no trailing
 * bytes. Any violation is a {@link MalformedWeightsException} naming the file and the tensor.
 *
 * <p>Loaded arrays own their memory in the PyTorch engine (freed when the array or its manager closes).
 * Tensor bytes go from the file straight into that memory with positional {@link FileChannel} reads (see
 * {@link TensorBytes}): one copy, never through the Java heap. {@code BF16} and {@code I16} tensors load
 * widened (see {@link SafetensorsDtype}).
 */
public final class Safetensors {

    /** Largest header accepted, in bytes (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Most dimensions a tensor may have; far above any real weight, it bounds what a header can ask for. */
    public static final int MAX_RANK = 64;

    private static final String METADATA_KEY = "__metadata__";
    private static final int LENGTH_BYTES = Long.BYTES;
    /** Writes go out in slices so the JDK never makes a temporary direct copy of a whole tensor. */
    private static final int WRITE_CHUNK_BYTES = 1 << 20;

    private Safetensors() {}

    /**
     * Reads all tensors, in header order, into the manager.
     *
     * @param file the safetensors file
     * @param manager the manager that will own the arrays (the caller closes it)
     * @return the tensors by name, in header order
     * @throws MalformedWeightsException if the file breaks the format
     * @throws IOException if the file cannot be read
     */
    public static LinkedHashMap<String, NDArray> read(Path file, NDManager manager) throws IOException {
        return read(file, manager, name -> true);
    }

    /**
     * Reads only the tensors whose names the predicate accepts; the others are never loaded.
     *
     * @param file the safetensors file
     * @param manager the manager that will own the arrays (the caller closes it)
     * @param names which tensor names to load
     * @return the selected tensors by name, in header order
     * @throws MalformedWeightsException if the file breaks the format (checked for every tensor, selected
     *     or not)
     * @throws IOException if the file cannot be read
     */
    public static LinkedHashMap<String, NDArray> read(Path file, NDManager manager, Predicate<String> names)
            throws IOException {
        Objects.requireNonNull(manager, "manager");
        Objects.requireNonNull(names, "names");
        try (FileChannel channel = openForRead(file)) {
            SafetensorsHeader header = readHeader(file, channel);
            LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
            try {
                for (SafetensorsHeader.Entry entry : header.tensors().values()) {
                    if (names.test(entry.name())) {
                        arrays.put(entry.name(), load(file, channel, header.dataStart(), entry, manager));
                    }
                }
            } catch (Throwable failure) {
                arrays.values().forEach(NDArray::close);
                throw failure;
            }
            return arrays;
        }
    }

    /**
     * Returns the header's {@code __metadata__} map.
     *
     * @param file the safetensors file
     * @return the metadata (unmodifiable), empty if the file has none
     * @throws MalformedWeightsException if the header breaks the format
     * @throws IOException if the file cannot be read
     */
    public static Map<String, String> metadata(Path file) throws IOException {
        return header(file).metadata();
    }

    /**
     * Reads and validates the header only: names, dtypes, shapes and offsets of every tensor.
     *
     * @param file the safetensors file
     * @return the validated header
     * @throws MalformedWeightsException if the header breaks the format
     * @throws IOException if the file cannot be read
     */
    public static SafetensorsHeader header(Path file) throws IOException {
        try (FileChannel channel = openForRead(file)) {
            return readHeader(file, channel);
        }
    }

    /**
     * Writes tensors in map order, with optional metadata, atomically: the file is written to a temporary
     * file in the same directory, flushed to disk, then renamed over {@code file}. On failure the target
     * is untouched and the temporary file is removed. The header is padded with spaces to a multiple of 8
     * bytes, as the reference implementation does.
     *
     * @param file the file to create or replace
     * @param tensors the tensors by name; any shape, including scalars {@code []} and empty tensors
     * @param metadata the {@code __metadata__} map, or {@code null} / empty for none
     * @throws IllegalArgumentException if a name is {@code "__metadata__"}, a tensor or metadata value is
     *     {@code null}, or a tensor's DJL type has no safetensors dtype
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata)
            throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        // Everything that can be wrong with the arguments is found here, before the disk is touched.
        byte[] header = headerBytes(tensors, metadata);
        Path target = file.toAbsolutePath();
        Path temp = target.resolveSibling(
                "." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        boolean moved = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer length = ByteBuffer.allocate(LENGTH_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                length.putLong(0, header.length);
                writeFully(channel, length);
                writeFully(channel, ByteBuffer.wrap(header));
                for (Map.Entry<String, NDArray> tensor : tensors.entrySet()) {
                    writeData(file, channel, tensor.getKey(), tensor.getValue());
                }
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
    }

    // ---------------------------------------------------------------- reading

    private static FileChannel openForRead(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new FileSystemException(file.toString(), null, "not a regular file");
        }
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    private static SafetensorsHeader readHeader(Path file, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < LENGTH_BYTES) {
            throw new MalformedWeightsException(
                    file, "file is " + size + " bytes, too short for the 8-byte header length");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(LENGTH_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, channel, lengthBytes, 0);
        long length = lengthBytes.getLong(0);
        // Unsigned on disk: a negative long is a length of 2^63 or more.
        if (length < 2 || length > MAX_HEADER_BYTES) {
            throw new MalformedWeightsException(file, "header length " + Long.toUnsignedString(length)
                    + " is outside [2, " + MAX_HEADER_BYTES + "]");
        }
        if (length > size - LENGTH_BYTES) {
            throw new MalformedWeightsException(file, "header length " + length
                    + " runs past the end of the file (" + size + " bytes)");
        }
        ByteBuffer json = ByteBuffer.allocate((int) length);
        readFully(file, channel, json, LENGTH_BYTES);
        json.flip();
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(json)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedWeightsException(file, null, "header is not valid UTF-8", e);
        }
        long dataStart = LENGTH_BYTES + length;
        SafetensorsHeader header = parseHeader(file, text, dataStart);
        checkLayout(file, header, size - dataStart);
        return header;
    }

    private static SafetensorsHeader parseHeader(Path file, String text, long dataStart) throws IOException {
        Map<String, SafetensorsHeader.Entry> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = null;
        try (JsonReader reader = new JsonReader(new StringReader(text))) {
            reader.setStrictness(Strictness.STRICT);
            expect(file, null, reader, JsonToken.BEGIN_OBJECT, "the header");
            reader.beginObject();
            while (reader.hasNext()) {
                String name = reader.nextName();
                if (METADATA_KEY.equals(name)) {
                    if (metadata != null) {
                        throw new MalformedWeightsException(file, name, "appears twice in the header");
                    }
                    metadata = parseMetadata(file, reader);
                } else {
                    if (tensors.containsKey(name)) {
                        throw new MalformedWeightsException(file, name, "tensor appears twice in the header");
                    }
                    tensors.put(name, parseEntry(file, name, reader));
                }
            }
            reader.endObject();
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new MalformedWeightsException(file, "header has data after its JSON object");
            }
        } catch (MalformedWeightsException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            // Gson's own report of broken JSON (bad syntax, bad escapes, truncated text).
            throw new MalformedWeightsException(file, null, "header is not valid JSON: " + e.getMessage(), e);
        }
        return new SafetensorsHeader(
                Collections.unmodifiableMap(tensors),
                metadata == null ? Map.of() : Collections.unmodifiableMap(metadata),
                dataStart);
    }

    private static Map<String, String> parseMetadata(Path file, JsonReader reader) throws IOException {
        expect(file, METADATA_KEY, reader, JsonToken.BEGIN_OBJECT, "the metadata");
        Map<String, String> metadata = new LinkedHashMap<>();
        reader.beginObject();
        while (reader.hasNext()) {
            String key = reader.nextName();
            expect(file, METADATA_KEY, reader, JsonToken.STRING, "the value of metadata key '" + key + "'");
            if (metadata.put(key, reader.nextString()) != null) {
                throw new MalformedWeightsException(file, METADATA_KEY, "key '" + key + "' appears twice");
            }
        }
        reader.endObject();
        return metadata;
    }

    private static SafetensorsHeader.Entry parseEntry(Path file, String name, JsonReader reader)
            throws IOException {
        expect(file, name, reader, JsonToken.BEGIN_OBJECT, "the tensor entry");
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        reader.beginObject();
        while (reader.hasNext()) {
            String field = reader.nextName();
            boolean repeated;
            switch (field) {
                case "dtype":
                    repeated = dtypeName != null;
                    expect(file, name, reader, JsonToken.STRING, "dtype");
                    dtypeName = reader.nextString();
                    break;
                case "shape":
                    repeated = shape != null;
                    shape = parseNonNegativeLongs(file, name, reader, "shape", MAX_RANK);
                    break;
                case "data_offsets":
                    repeated = offsets != null;
                    offsets = parseNonNegativeLongs(file, name, reader, "data_offsets", 2);
                    if (offsets.length != 2) {
                        throw new MalformedWeightsException(
                                file, name, "data_offsets must hold 2 numbers, not " + offsets.length);
                    }
                    break;
                default:
                    throw new MalformedWeightsException(file, name, "unknown field '" + field + "' in the tensor entry");
            }
            if (repeated) {
                throw new MalformedWeightsException(file, name, "field '" + field + "' appears twice");
            }
        }
        reader.endObject();
        if (dtypeName == null || shape == null || offsets == null) {
            throw new MalformedWeightsException(file, name, "tensor entry lacks "
                    + (dtypeName == null ? "dtype" : shape == null ? "shape" : "data_offsets"));
        }
        return new SafetensorsHeader.Entry(name, dtype(file, name, dtypeName), new Shape(shape), offsets[0], offsets[1]);
    }

    private static SafetensorsDtype dtype(Path file, String name, String dtypeName) throws MalformedWeightsException {
        for (SafetensorsDtype dtype : SafetensorsDtype.values()) {
            if (dtype.name().equals(dtypeName)) {
                return dtype;
            }
        }
        throw new MalformedWeightsException(file, name, "unsupported dtype '" + dtypeName + "' (lens4j reads "
                + List.of(SafetensorsDtype.values()) + ")");
    }

    private static long[] parseNonNegativeLongs(Path file, String name, JsonReader reader, String field, int max)
            throws IOException {
        expect(file, name, reader, JsonToken.BEGIN_ARRAY, field);
        long[] values = new long[max];
        int count = 0;
        reader.beginArray();
        while (reader.hasNext()) {
            if (count == max) {
                throw new MalformedWeightsException(file, name, field + " has more than " + max + " entries");
            }
            expect(file, name, reader, JsonToken.NUMBER, "an entry of " + field);
            // Parse the literal ourselves: Gson would accept 2.0 or 1e3 as a long.
            String literal = reader.nextString();
            long value;
            try {
                value = Long.parseLong(literal);
            } catch (NumberFormatException e) {
                value = -1;
            }
            if (value < 0 || literal.startsWith("-")) {
                throw new MalformedWeightsException(
                        file, name, field + " entry " + literal + " is not an integer in [0, 2^63)");
            }
            values[count++] = value;
        }
        reader.endArray();
        return Arrays.copyOf(values, count);
    }

    private static void expect(Path file, String entry, JsonReader reader, JsonToken token, String what)
            throws IOException {
        JsonToken actual = reader.peek();
        if (actual != token) {
            throw new MalformedWeightsException(file, entry, what + " must be a JSON "
                    + token.name().toLowerCase(Locale.ROOT).replace("begin_", "") + ", found "
                    + actual.name().toLowerCase(Locale.ROOT).replace("begin_", ""));
        }
    }

    /** Sizes must match shapes, and the tensors must tile the data section exactly. */
    private static void checkLayout(Path file, SafetensorsHeader header, long dataLength)
            throws MalformedWeightsException {
        for (SafetensorsHeader.Entry entry : header.tensors().values()) {
            long needed = entry.dtype().byteSize();
            try {
                // Shape.size() would overflow silently.
                for (long dim : entry.shape().getShape()) {
                    needed = Math.multiplyExact(needed, dim);
                }
            } catch (ArithmeticException e) {
                throw new MalformedWeightsException(file, entry.name(), "shape " + entry.shape() + " overflows");
            }
            String offsets = "data_offsets [" + entry.begin() + ", " + entry.end() + "]";
            if (entry.end() < entry.begin()) {
                throw new MalformedWeightsException(file, entry.name(), offsets + " end before they begin");
            }
            if (entry.byteLength() != needed) {
                throw new MalformedWeightsException(file, entry.name(), offsets + " hold " + entry.byteLength()
                        + " bytes but " + entry.dtype() + " " + entry.shape() + " needs " + needed);
            }
            if (entry.end() > dataLength) {
                throw new MalformedWeightsException(file, entry.name(), offsets
                        + " run past the end of the data section (" + dataLength + " bytes)");
            }
        }
        List<SafetensorsHeader.Entry> byOffset = new ArrayList<>(header.tensors().values());
        byOffset.sort(Comparator.comparingLong(SafetensorsHeader.Entry::begin)
                .thenComparingLong(SafetensorsHeader.Entry::end));
        long covered = 0;
        String previous = null;
        for (SafetensorsHeader.Entry entry : byOffset) {
            if (entry.begin() < covered) {
                throw new MalformedWeightsException(file, entry.name(), "data overlaps tensor '" + previous + "'");
            }
            if (entry.begin() > covered) {
                throw new MalformedWeightsException(file, entry.name(), "data starts at " + entry.begin()
                        + ", leaving bytes [" + covered + ", " + entry.begin() + ") of the data section unused");
            }
            covered = entry.end();
            previous = entry.name();
        }
        if (covered != dataLength) {
            throw new MalformedWeightsException(file, "data section is " + dataLength
                    + " bytes but the tensors cover only " + covered);
        }
    }

    private static NDArray load(Path file, FileChannel channel, long dataStart, SafetensorsHeader.Entry entry,
            NDManager manager) throws IOException {
        return TensorBytes.load(file, entry.name(), entry.dtype(), entry.shape(), manager,
                target -> readFully(file, channel, target, dataStart + entry.begin()));
    }

    private static void readFully(Path file, FileChannel channel, ByteBuffer buffer, long position)
            throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, at);
            if (read < 0) {
                throw new EOFException(file + ": file ended at byte " + at + " (was it truncated while being read?)");
            }
            at += read;
        }
    }

    // ---------------------------------------------------------------- writing

    private static byte[] headerBytes(Map<String, NDArray> tensors, Map<String, String> metadata) {
        StringWriter text = new StringWriter();
        try (JsonWriter json = new JsonWriter(text)) {
            json.setHtmlSafe(false);
            json.beginObject();
            if (metadata != null && !metadata.isEmpty()) {
                json.name(METADATA_KEY).beginObject();
                for (Map.Entry<String, String> entry : metadata.entrySet()) {
                    if (entry.getKey() == null || entry.getValue() == null) {
                        throw new IllegalArgumentException("metadata key '" + entry.getKey() + "' or its value is null");
                    }
                    json.name(entry.getKey()).value(entry.getValue());
                }
                json.endObject();
            }
            long offset = 0;
            for (Map.Entry<String, NDArray> tensor : tensors.entrySet()) {
                String name = tensor.getKey();
                NDArray array = tensor.getValue();
                if (name == null || METADATA_KEY.equals(name) || array == null) {
                    throw new IllegalArgumentException("tensor '" + name + "': "
                            + (array == null ? "array is null" : "the name is reserved or null"));
                }
                SafetensorsDtype dtype;
                try {
                    dtype = SafetensorsDtype.of(array.getDataType());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage(), e);
                }
                long bytes = Math.multiplyExact(array.getShape().size(), dtype.byteSize());
                json.name(name).beginObject();
                json.name("dtype").value(dtype.name());
                json.name("shape").beginArray();
                for (long dim : array.getShape().getShape()) {
                    json.value(dim);
                }
                json.endArray();
                json.name("data_offsets").beginArray().value(offset).value(offset + bytes).endArray();
                json.endObject();
                offset += bytes;
            }
            json.endObject();
        } catch (IOException e) {
            throw new IllegalStateException("writing JSON to a string cannot fail", e);
        }
        byte[] utf8 = text.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (utf8.length + 7) / 8 * 8;
        if (padded > MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("header would be " + padded + " bytes, over the "
                    + MAX_HEADER_BYTES + "-byte limit readers enforce");
        }
        byte[] header = Arrays.copyOf(utf8, padded);
        Arrays.fill(header, utf8.length, padded, (byte) ' ');
        return header;
    }

    private static void writeData(Path file, FileChannel channel, String name, NDArray array) throws IOException {
        ByteBuffer data = array.toByteBuffer();
        long expected = array.getShape().size() * array.getDataType().getNumOfBytes();
        if (data.remaining() != expected) {
            throw new IOException(file + ": '" + name + "': engine returned " + data.remaining()
                    + " bytes, expected " + expected);
        }
        for (int at = data.position(); at < data.limit(); at += WRITE_CHUNK_BYTES) {
            writeFully(channel, data.slice(at, Math.min(WRITE_CHUNK_BYTES, data.limit() - at)));
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
