package org.lens4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.testing.Fixtures;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    /** Every DJL type the PyTorch engine can hold and safetensors can store. */
    private static final List<DataType> WRITABLE = List.of(DataType.FLOAT32, DataType.FLOAT16, DataType.FLOAT64,
            DataType.INT64, DataType.INT32, DataType.INT8, DataType.UINT8, DataType.BOOLEAN);

    private static final List<Shape> SHAPES =
            List.of(new Shape(2, 3), new Shape(), new Shape(0), new Shape(3, 0, 2), new Shape(1, 1, 5));

    @TempDir
    Path dir;

    private NDManager manager;

    @BeforeEach
    void openManager() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void closeManager() {
        manager.close();
    }

    static byte[] bytesOf(NDArray array) {
        ByteBuffer buffer = array.toByteBuffer();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    private NDArray random(DataType type, Shape shape, Random random) {
        int size = (int) shape.size() * type.getNumOfBytes();
        ByteBuffer data = ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < size; i++) {
            data.put(i, type == DataType.BOOLEAN ? (byte) random.nextInt(2) : (byte) random.nextInt());
        }
        return manager.create(data, shape, type);
    }

    @Test
    void roundTripsEveryDtypeAndShapeBitForBit() throws IOException {
        Random random = new Random(42);
        LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
        for (DataType type : WRITABLE) {
            for (Shape shape : SHAPES) {
                tensors.put("t." + type + "." + shape, random(type, shape, random));
            }
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("quotes \"<&>\\ and ünïcødé", "line\nbreak \u2603");
        Path file = dir.resolve("all.safetensors");

        Safetensors.write(file, tensors, metadata);
        LinkedHashMap<String, NDArray> read = Safetensors.read(file, manager);

        assertThat(read.keySet()).containsExactlyElementsOf(tensors.keySet());
        for (Map.Entry<String, NDArray> entry : tensors.entrySet()) {
            NDArray back = read.get(entry.getKey());
            assertThat(back.getDataType()).as(entry.getKey()).isEqualTo(entry.getValue().getDataType());
            assertThat(back.getShape()).as(entry.getKey()).isEqualTo(entry.getValue().getShape());
            assertThat(bytesOf(back)).as(entry.getKey()).isEqualTo(bytesOf(entry.getValue()));
            assertThat(back.getName()).isEqualTo(entry.getKey());
        }
        assertThat(Safetensors.metadata(file)).containsExactlyEntriesOf(metadata);
    }

    @Test
    void writesThePaddedLayoutThatDjlsOwnReaderAccepts() throws IOException {
        Random random = new Random(7);
        LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("w", random(DataType.FLOAT32, new Shape(3, 5), random));
        tensors.put("ids", random(DataType.INT64, new Shape(7), random));
        tensors.put("mask", random(DataType.BOOLEAN, new Shape(2, 2), random));
        Path file = dir.resolve("djl.safetensors");
        Safetensors.write(file, tensors, Map.of("k", "v"));

        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLength % 8).isZero();
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{").matches("(?s).*} *");
        assertThat(bytes.length).isEqualTo(8 + headerLength + 15 * 4 + 7 * 8 + 4);

        try (InputStream in = Files.newInputStream(file)) {
            NDList djl = NDList.decode(manager, in);
            assertThat(djl).hasSize(3);
            for (NDArray array : djl) {
                NDArray original = tensors.get(array.getName());
                assertThat(array.getShape()).isEqualTo(original.getShape());
                assertThat(bytesOf(array)).isEqualTo(bytesOf(original));
            }
        }
    }

    @Test
    void readsBf16AndI16WidenedExactly() throws IOException {
        int[] bf16 = {0x3FC0, 0xC000, 0x0001, 0x7F80, 0xFFC1, 0x8000};
        short[] i16 = {Short.MIN_VALUE, -1, 0, 1, 300, Short.MAX_VALUE};
        byte[] data = new byte[24];
        System.arraycopy(RawSafetensors.shorts(bf16), 0, data, 0, 12);
        System.arraycopy(RawSafetensors.shorts(toInts(i16)), 0, data, 12, 12);
        Path file = RawSafetensors.write(dir.resolve("widen.safetensors"),
                "{\"b\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                        + "\"s\":{\"dtype\":\"I16\",\"shape\":[6],\"data_offsets\":[12,24]}}",
                data);

        Map<String, NDArray> read = Safetensors.read(file, manager);

        NDArray b = read.get("b");
        assertThat(b.getDataType()).isEqualTo(DataType.FLOAT32);
        assertThat(b.getShape()).isEqualTo(new Shape(2, 3));
        float[] floats = b.toFloatArray();
        for (int i = 0; i < bf16.length; i++) {
            // bfloat16 is by definition the upper 16 bits of a float32.
            assertThat(Float.floatToRawIntBits(floats[i])).isEqualTo(bf16[i] << 16);
        }
        NDArray s = read.get("s");
        assertThat(s.getDataType()).isEqualTo(DataType.INT32);
        assertThat(s.toIntArray()).containsExactly(toInts(i16));
    }

    private static int[] toInts(short[] values) {
        int[] ints = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            ints[i] = values[i];
        }
        return ints;
    }

    @Test
    void readsTheTransformerLensWeightsFixtureLikeDjlDoes() throws IOException {
        Path file = Fixtures.path("gpt2_style_2l", "model/weights.safetensors");

        LinkedHashMap<String, NDArray> ours = Safetensors.read(file, manager);
        NDList djl;
        try (InputStream in = Files.newInputStream(file)) {
            djl = NDList.decode(manager, in);
        }

        // 2 embeddings + 2 layers x (4 LN + 8 attention + 4 MLP) + ln_final w/b + unembed W/b (fixture README).
        assertThat(ours).hasSize(38);
        assertThat(new ArrayList<>(ours.keySet())).containsExactlyElementsOf(
                djl.stream().map(NDArray::getName).toList());
        for (NDArray expected : djl) {
            NDArray actual = ours.get(expected.getName());
            assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(actual.getShape()).isEqualTo(expected.getShape());
            assertThat(bytesOf(actual)).as(expected.getName()).isEqualTo(bytesOf(expected));
        }
        assertThat(ours.get("embed.W_E").getShape()).isEqualTo(new Shape(100, 64));
        assertThat(ours.get("blocks.1.attn.W_Q").getShape()).isEqualTo(new Shape(4, 64, 16));
        assertThat(ours.get("blocks.0.attn.W_O").getShape()).isEqualTo(new Shape(4, 16, 64));
        assertThat(ours.get("unembed.W_U").getShape()).isEqualTo(new Shape(64, 100));
        assertThat(Safetensors.metadata(file))
                .containsEntry("transformer_lens", "2.12.0")
                .containsEntry("config", "gpt2_style_2l");
    }

    @Test
    void readsTheTokensFixture() throws IOException {
        Path file = Fixtures.path("gpt2_style_2l", "inputs.safetensors");

        NDArray tokens = Safetensors.read(file, manager).get("tokens");
        NDArray djl;
        try (InputStream in = Files.newInputStream(file)) {
            djl = NDList.decode(manager, in).get("tokens");
        }

        assertThat(tokens.getDataType()).isEqualTo(DataType.INT64);
        assertThat(tokens.getShape()).isEqualTo(new Shape(3, 16));
        assertThat(tokens.toLongArray()).containsExactly(djl.toLongArray());
        // torch.randint(0, 100, ...) per the fixture README.
        assertThat(Arrays.stream(tokens.toLongArray()).allMatch(t -> t >= 0 && t < 100)).isTrue();
    }

    @Test
    void headerDescribesEveryTensorWithoutLoadingAny() throws IOException {
        SafetensorsHeader header = Safetensors.header(Fixtures.path("gpt2_style_2l", "model/weights.safetensors"));

        assertThat(header.tensors()).hasSize(38);
        SafetensorsHeader.Entry first = header.tensors().values().iterator().next();
        assertThat(first.name()).isEqualTo("embed.W_E");
        assertThat(first.dtype()).isEqualTo(SafetensorsDtype.F32);
        assertThat(first.begin()).isZero();
        assertThat(first.byteLength()).isEqualTo(100 * 64 * 4);
        assertThat(header.dataStart() % 8).isZero();
    }

    @Test
    void predicateLoadsOnlyTheNamedTensorsAndNeverTouchesTheOthers() throws IOException {
        // "bad" holds a BOOL byte of 7: loading it fails, so skipping it proves its data is never read.
        byte[] data = new byte[12];
        System.arraycopy(RawSafetensors.floats(1.5f, -2f), 0, data, 0, 8);
        data[8] = 7;
        Path file = RawSafetensors.write(dir.resolve("p.safetensors"),
                "{\"good\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"bad\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[8,12]}}",
                data);

        LinkedHashMap<String, NDArray> read = Safetensors.read(file, manager, "good"::equals);

        assertThat(read.keySet()).containsExactly("good");
        assertThat(read.get("good").toFloatArray()).containsExactly(1.5f, -2f);
        assertThatThrownBy(() -> Safetensors.read(file, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("p.safetensors")
                .hasMessageContaining("'bad'")
                .hasMessageContaining("byte 7");
    }

    @Test
    void readKeepsNoStagingArraysAndReleasesEverythingOnFailure() throws IOException {
        Safetensors.read(Fixtures.path("gpt2_style_2l", "model/weights.safetensors"), manager);
        assertThat(manager.getManagedArrays()).hasSize(38);

        byte[] data = new byte[12];
        data[8] = 2;
        Path file = RawSafetensors.write(dir.resolve("late-failure.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[8,12]}}",
                data);
        try (NDManager child = manager.newSubManager()) {
            assertThatThrownBy(() -> Safetensors.read(file, child)).isInstanceOf(MalformedWeightsException.class);
            assertThat(child.getManagedArrays()).isEmpty();
        }
    }

    @Test
    void writeReplacesAnExistingFile() throws IOException {
        Path file = dir.resolve("w.safetensors");
        Safetensors.write(file, Map.of("x", manager.create(new float[] {1, 2})), null);
        Safetensors.write(file, Map.of("y", manager.create(new long[] {3})), Map.of());

        Map<String, NDArray> read = Safetensors.read(file, manager);
        assertThat(read.keySet()).containsExactly("y");
        assertThat(read.get("y").toLongArray()).containsExactly(3L);
        assertThat(Safetensors.metadata(file)).isEmpty();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void failedWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("keep.safetensors");
        Safetensors.write(file, Map.of("x", manager.create(new float[] {1, 2})), null);
        byte[] before = Files.readAllBytes(file);
        NDArray closed = manager.create(new float[] {5, 6});
        // Shape and type are cached, so the header is written and the failure comes mid-data.
        closed.getShape();
        closed.getDataType();
        closed.close();
        LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
        tensors.put("ok", manager.create(new float[] {3}));
        tensors.put("closed", closed);

        assertThatThrownBy(() -> Safetensors.write(file, tensors, null)).isInstanceOf(RuntimeException.class);

        assertThat(Files.readAllBytes(file)).isEqualTo(before);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void writeRejectsReservedNamesMissingArraysAndUnstorableTypes() {
        Path file = dir.resolve("never.safetensors");
        NDArray ok = manager.create(new float[] {1});
        Map<String, NDArray> withNull = new LinkedHashMap<>();
        withNull.put("missing", null);

        assertThatThrownBy(() -> Safetensors.write(file, Map.of("__metadata__", ok), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("__metadata__");
        assertThatThrownBy(() -> Safetensors.write(file, withNull, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'missing'");
        NDArray strings = manager.create(new String[] {"a", "b"});
        assertThatThrownBy(() -> Safetensors.write(file, Map.of("text", strings), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'text'")
                .hasMessageContaining("string");
        assertThat(file).doesNotExist();
    }

    @Test
    void readRejectsMissingFilesAndDirectoriesByName() {
        assertThatThrownBy(() -> Safetensors.read(dir.resolve("absent.safetensors"), manager))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("absent.safetensors");
        assertThatThrownBy(() -> Safetensors.read(dir, manager))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("not a regular file");
    }
}
