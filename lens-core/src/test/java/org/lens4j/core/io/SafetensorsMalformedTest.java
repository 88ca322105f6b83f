package org.lens4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each malformed file must fail with a {@link MalformedWeightsException} naming the file and the culprit. */
class SafetensorsMalformedTest {

    private static final String F32_2 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    @TempDir
    Path dir;

    static Stream<Arguments> malformedFiles() {
        return Stream.of(
                arguments("empty file", new byte[0], new String[] {"0 bytes, too short"}),
                arguments("7 bytes", new byte[7], new String[] {"7 bytes, too short"}),
                arguments("length over 2^63", lengthThen(0x8000_0000_0000_0005L, 64),
                        new String[] {"header length 9223372036854775813 is outside [2, 100000000]"}),
                arguments("length over the cap", lengthThen(100_000_001L, 64),
                        new String[] {"header length 100000001 is outside"}),
                arguments("length 1", lengthThen(1, 64), new String[] {"header length 1 is outside"}),
                arguments("length past the file", lengthThen(1000, 50),
                        new String[] {"header length 1000 runs past the end of the file (58 bytes)"}),
                arguments("invalid UTF-8", withHeaderBytes(new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'}),
                        new String[] {"not valid UTF-8"}),
                arguments("truncated JSON", file("{\"a\":{\"dtype\"", 0), new String[] {"not valid JSON"}),
                arguments("two JSON values", file("{} {}", 0), new String[] {"JSON"}),
                arguments("NUL padding", file("{}\0\0\0\0\0\0", 0), new String[] {"not valid JSON"}),
                arguments("single quotes", file("{'a':" + F32_2 + "}", 8), new String[] {"not valid JSON"}),
                arguments("comment", file("{/*x*/}", 0), new String[] {"not valid JSON"}),
                arguments("top level array", file("[]", 0), new String[] {"the header must be a JSON object, found array"}),
                arguments("entry is a string", file("{\"a\":\"x\"}", 0),
                        new String[] {"'a'", "tensor entry must be a JSON object, found string"}),
                arguments("entry is null", file("{\"a\":null}", 0), new String[] {"'a'", "found null"}),
                arguments("duplicate tensor", file("{\"a\":" + F32_2 + ",\"a\":" + F32_2 + "}", 8),
                        new String[] {"'a'", "appears twice"}),
                arguments("duplicate metadata", file("{\"__metadata__\":{},\"__metadata__\":{}}", 0),
                        new String[] {"'__metadata__'", "appears twice"}),
                arguments("metadata number", file("{\"__metadata__\":{\"k\":1}}", 0),
                        new String[] {"'__metadata__'", "metadata key 'k' must be a JSON string, found number"}),
                arguments("metadata nested", file("{\"__metadata__\":{\"k\":{}}}", 0),
                        new String[] {"'__metadata__'", "found object"}),
                arguments("metadata array", file("{\"__metadata__\":[]}", 0),
                        new String[] {"'__metadata__'", "must be a JSON object, found array"}),
                arguments("unknown dtype", file(entry("a", "F8_E4M3", "[2]", "[0,2]"), 2),
                        new String[] {"'a'", "unsupported dtype 'F8_E4M3'", "BF16"}),
                arguments("lower-case dtype", file(entry("a", "f32", "[2]", "[0,8]"), 8),
                        new String[] {"'a'", "unsupported dtype 'f32'"}),
                arguments("dtype number", file("{\"a\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", 4),
                        new String[] {"'a'", "dtype must be a JSON string, found number"}),
                arguments("missing dtype", file("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                        new String[] {"'a'", "lacks dtype"}),
                arguments("missing shape", file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8),
                        new String[] {"'a'", "lacks shape"}),
                arguments("missing offsets", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8),
                        new String[] {"'a'", "lacks data_offsets"}),
                arguments("unknown field", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
                        + "\"strides\":[1]}}", 8), new String[] {"'a'", "unknown field 'strides'"}),
                arguments("repeated field", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],"
                        + "\"data_offsets\":[0,8]}}", 8), new String[] {"'a'", "field 'shape' appears twice"}),
                arguments("shape not an array", file(entry("a", "F32", "2", "[0,8]"), 8),
                        new String[] {"'a'", "shape must be a JSON array, found number"}),
                arguments("shape of strings", file(entry("a", "F32", "[\"2\"]", "[0,8]"), 8),
                        new String[] {"'a'", "an entry of shape must be a JSON number, found string"}),
                arguments("negative dimension", file(entry("a", "F32", "[-2]", "[0,8]"), 8),
                        new String[] {"'a'", "shape entry -2 is not an integer"}),
                arguments("fractional dimension", file(entry("a", "F32", "[2.0]", "[0,8]"), 8),
                        new String[] {"'a'", "shape entry 2.0 is not an integer"}),
                arguments("exponent dimension", file(entry("a", "F32", "[2e0]", "[0,8]"), 8),
                        new String[] {"'a'", "shape entry 2e0 is not an integer"}),
                arguments("dimension past 2^63", file(entry("a", "F32", "[9223372036854775808]", "[0,8]"), 8),
                        new String[] {"'a'", "shape entry 9223372036854775808 is not an integer"}),
                arguments("rank 65", file(entry("a", "F32", "[" + String.join(",", Collections.nCopies(65, "1")) + "]",
                        "[0,4]"), 4), new String[] {"'a'", "shape has more than 64 entries"}),
                arguments("one offset", file(entry("a", "F32", "[2]", "[8]"), 8),
                        new String[] {"'a'", "data_offsets must hold 2 numbers, not 1"}),
                arguments("three offsets", file(entry("a", "F32", "[2]", "[0,8,8]"), 8),
                        new String[] {"'a'", "data_offsets has more than 2 entries"}),
                arguments("negative offset", file(entry("a", "F32", "[2]", "[-8,0]"), 8),
                        new String[] {"'a'", "data_offsets entry -8 is not an integer"}),
                arguments("reversed offsets", file(entry("a", "F32", "[0]", "[8,0]"), 8),
                        new String[] {"'a'", "data_offsets [8, 0] end before they begin"}),
                arguments("size mismatch", file(entry("a", "F32", "[3]", "[0,8]"), 8),
                        new String[] {"'a'", "hold 8 bytes but F32 (3) needs 12"}),
                arguments("shape overflow", file(entry("a", "F32", "[4611686018427387904,4]", "[0,8]"), 8),
                        new String[] {"'a'", "overflows"}),
                arguments("shape overflow to a match", file(entry("a", "I8", "[4294967296,4294967296,1]", "[0,0]"), 0),
                        new String[] {"'a'", "overflows"}),
                arguments("offsets past the data", file(entry("a", "F32", "[2]", "[0,8]"), 4),
                        new String[] {"'a'", "run past the end of the data section (4 bytes)"}),
                arguments("offsets near 2^63", file(entry("a", "U8", "[2]", "[9223372036854775805,9223372036854775807]"), 4),
                        new String[] {"'a'", "run past the end of the data section"}),
                arguments("overlap", file("{\"a\":" + F32_2 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
                        + "\"data_offsets\":[4,12]}}", 12), new String[] {"'b'", "overlaps tensor 'a'"}),
                arguments("same bytes twice", file("{\"a\":" + F32_2 + ",\"b\":" + F32_2 + "}", 8),
                        new String[] {"overlaps tensor"}),
                arguments("gap", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}", 12),
                        new String[] {"'b'", "leaving bytes [4, 8) of the data section unused"}),
                arguments("trailing bytes", file(entry("a", "F32", "[]", "[0,4]"), 8),
                        new String[] {"data section is 8 bytes but the tensors cover only 4"}),
                arguments("bool byte 2", withData(entry("m", "BOOL", "[3]", "[0,3]"), new byte[] {0, 1, 2}),
                        new String[] {"'m'", "BOOL element 2 is byte 2"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedFiles")
    void rejectsWithAMessageNamingFileAndCulprit(String description, byte[] bytes, String[] fragments)
            throws IOException {
        Path file = Files.write(dir.resolve("bad.safetensors"), bytes);
        try (NDManager manager = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> Safetensors.read(file, manager))
                    .isInstanceOf(MalformedWeightsException.class)
                    .hasMessageContaining(file.toString())
                    .hasMessageContainingAll(fragments)
                    .satisfies(e -> assertThat(((MalformedWeightsException) e).file()).isEqualTo(file));
            assertThat(manager.getManagedArrays()).isEmpty();
        }
    }

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "{\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}";
    }

    private static byte[] file(String header, int dataBytes) {
        return RawSafetensors.bytes(header, new byte[dataBytes]);
    }

    private static byte[] withData(String header, byte[] data) {
        return RawSafetensors.bytes(header, data);
    }

    private static byte[] withHeaderBytes(byte[] header) {
        return ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).array();
    }

    private static byte[] lengthThen(long length, int rest) {
        byte[] bytes = new byte[8 + rest];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(length);
        byte[] json = "{}".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(json, 0, bytes, 8, Math.min(json.length, rest));
        return bytes;
    }
}
