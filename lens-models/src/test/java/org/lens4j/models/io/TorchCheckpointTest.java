package org.lens4j.models.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.zip.ZipFile;
import org.lens4j.core.io.MalformedWeightsException;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.io.SafetensorsDtype;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointTest {

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

    static Path resource(String name) {
        try {
            return Path.of(TorchCheckpointTest.class.getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytesOf(NDArray array) {
        ByteBuffer buffer = array.toByteBuffer();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    @Test
    void arenaCheckpointEqualsItsSafetensorsConversionExactly() throws IOException {
        Path checkpoint = resource("arena_brackets_3l_state_dict.pt");

        LinkedHashMap<String, NDArray> torch = TorchCheckpoint.readStateDict(checkpoint, manager);
        LinkedHashMap<String, NDArray> reference =
                Safetensors.read(resource("arena_brackets_3l_weights.safetensors"), manager);

        assertThat(reference).hasSize(54);
        for (Map.Entry<String, NDArray> expected : reference.entrySet()) {
            NDArray actual = torch.get(expected.getKey());
            assertThat(actual).as(expected.getKey()).isNotNull();
            assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(actual.getShape()).as(expected.getKey()).isEqualTo(expected.getValue().getShape());
            assertThat(bytesOf(actual)).as(expected.getKey()).isEqualTo(bytesOf(expected.getValue()));
            assertThat(actual.getName()).isEqualTo(expected.getKey());
        }
        // The checkpoint also holds the attention buffers the safetensors file leaves out (PROVENANCE.md).
        assertThat(torch.keySet()).hasSize(60).containsAll(reference.keySet());
        for (int layer = 0; layer < 3; layer++) {
            NDArray mask = torch.get("blocks." + layer + ".attn.mask");
            assertThat(mask.getDataType()).isEqualTo(DataType.BOOLEAN);
            // TransformerLens registers mask = tril(ones(n_ctx, n_ctx)).bool().
            boolean[] tril = new boolean[42 * 42];
            for (int q = 0; q < 42; q++) {
                for (int k = 0; k <= q; k++) {
                    tril[42 * q + k] = true;
                }
            }
            assertThat(mask.toBooleanArray()).containsExactly(tril);
            NDArray ignore = torch.get("blocks." + layer + ".attn.IGNORE");
            assertThat(ignore.getShape()).isEqualTo(new Shape());
        }
        // IGNORE's value, read straight from its storage entry (key '15' in the pickle).
        try (ZipFile zip = new ZipFile(checkpoint.toFile())) {
            byte[] raw = zip.getInputStream(zip.getEntry("archive/data/15")).readAllBytes();
            float stored = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getFloat();
            assertThat(torch.get("blocks.0.attn.IGNORE").getFloat()).isEqualTo(stored).isEqualTo(-1e5f);
        }
    }

    /** Every storage class: raw bytes in, the same bytes out (BF16 and I16 widened exactly). */
    @Test
    void readsEveryDtype() throws IOException {
        Random random = new Random(3);
        String[] classes = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
            "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage"};
        SafetensorsDtype[] dtypes = {SafetensorsDtype.F32, SafetensorsDtype.F64, SafetensorsDtype.F16,
            SafetensorsDtype.BF16, SafetensorsDtype.I64, SafetensorsDtype.I32, SafetensorsDtype.I16,
            SafetensorsDtype.I8, SafetensorsDtype.U8, SafetensorsDtype.BOOL};
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark();
        Map<String, byte[]> storages = new LinkedHashMap<>();
        for (int i = 0; i < classes.length; i++) {
            byte[] raw = new byte[6 * dtypes[i].byteSize()];
            random.nextBytes(raw);
            if (dtypes[i] == SafetensorsDtype.BOOL) {
                for (int b = 0; b < raw.length; b++) {
                    raw[b] &= 1;
                }
            }
            storages.put(String.valueOf(i), raw);
            pickle.str("t" + i).tensor(classes[i], String.valueOf(i), 6, 0, new long[] {2, 3}, new long[] {3, 1});
        }
        Path file = TorchFiles.write(dir.resolve("dtypes.pt"), pickle.setitems().stop().bytes(), storages);

        LinkedHashMap<String, NDArray> read = TorchCheckpoint.readStateDict(file, manager);

        assertThat(read.keySet()).containsExactly("t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9");
        for (int i = 0; i < classes.length; i++) {
            NDArray array = read.get("t" + i);
            byte[] raw = storages.get(String.valueOf(i));
            assertThat(array.getShape()).isEqualTo(new Shape(2, 3));
            assertThat(array.getDataType()).as(classes[i]).isEqualTo(dtypes[i].loadedAs());
            ByteBuffer in = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            if (dtypes[i] == SafetensorsDtype.BF16) {
                float[] values = array.toFloatArray();
                for (int e = 0; e < 6; e++) {
                    assertThat(Float.floatToRawIntBits(values[e])).isEqualTo((in.getShort(2 * e) & 0xFFFF) << 16);
                }
            } else if (dtypes[i] == SafetensorsDtype.I16) {
                int[] values = array.toIntArray();
                for (int e = 0; e < 6; e++) {
                    assertThat(values[e]).isEqualTo(in.getShort(2 * e));
                }
            } else {
                assertThat(bytesOf(array)).as(classes[i]).isEqualTo(raw);
            }
        }
    }

    /** Views of one storage holding 0, 1, ..., 23, checked against the same views taken with DJL indexing. */
    @Test
    void readsStridedViewsOfSharedStorages() throws IOException {
        float[] values = new float[24];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f - 3f;
        }
        byte[] storage = floatBytes(values);
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark()
                .str("offset").tensor("FloatStorage", "0", 24, 4, new long[] {2, 3}, new long[] {3, 1})
                .str("transposed").tensor("FloatStorage", "0", 24, 0, new long[] {3, 2}, new long[] {1, 3})
                .str("every_other").tensor("FloatStorage", "0", 24, 1, new long[] {5}, new long[] {2})
                .str("expanded").tensor("FloatStorage", "0", 24, 2, new long[] {4, 3}, new long[] {0, 1})
                .str("sliced_3d").tensor("FloatStorage", "0", 24, 1, new long[] {2, 2, 2}, new long[] {12, 4, 2})
                .str("scalar").tensor("FloatStorage", "0", 24, 23, new long[] {}, new long[] {})
                .str("empty").tensor("FloatStorage", "0", 24, 24, new long[] {0, 3}, new long[] {3, 1})
                .str("size_one_any_stride").tensor("FloatStorage", "0", 24, 5, new long[] {1, 4}, new long[] {99, 1})
                .setitems().stop();
        Path file = TorchFiles.write(dir.resolve("views.pt"), pickle.bytes(), Map.of("0", storage));

        Map<String, NDArray> read = TorchCheckpoint.readStateDict(file, manager);

        NDArray all = manager.create(values);
        assertSame(read.get("offset"), all.get("4:10").reshape(2, 3));
        assertSame(read.get("transposed"), all.get("0:6").reshape(2, 3).transpose());
        assertSame(read.get("every_other"), all.get("1:10:2"));
        assertSame(read.get("expanded"), all.get("2:5").broadcast(4, 3));
        assertSame(read.get("sliced_3d"), all.reshape(2, 3, 4).get(":, 0:2, 1::2"));
        assertSame(read.get("scalar"), all.get(23));
        assertSame(read.get("empty"), manager.zeros(new Shape(0, 3)));
        assertSame(read.get("size_one_any_stride"), all.get("5:9").reshape(1, 4));
    }

    private static byte[] floatBytes(float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        return buffer.array();
    }

    private static void assertSame(NDArray actual, NDArray expected) {
        assertThat(actual.getShape()).isEqualTo(expected.getShape());
        assertThat(actual.toFloatArray()).containsExactly(expected.toFloatArray());
    }

    /** {"epoch": 3, "state_dict": OrderedDict(...), ...} as training scripts save it. */
    private Path nestedCheckpoint(String stateDictKey) throws IOException {
        PickleBytes pickle = PickleBytes.protocol2().emptyDict().mark()
                .str("epoch").integer(3)
                .str("lr").binfloat(0.25)
                .str("flags").emptyList().bool(true).append().none().append()
                .str("size").global("torch", "Size").intTuple(2, 3).op(0x85).reduce()
                .str("dtype").global("torch", "float16")
                .str("names").global("builtins", "set").emptyList().str("a").append().op(0x85).reduce()
                .str("blob").global("_codecs", "encode").str("\u00ff\u0001").str("latin1").op(0x86).reduce()
                .str(stateDictKey).orderedDict().mark()
                .str("w").tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1})
                .str("b").tensor("LongStorage", "1", 1, 0, new long[] {}, new long[] {})
                .setitems()
                .setitems().stop();
        return TorchFiles.write(dir.resolve("nested.pt"), pickle.bytes(),
                Map.of("0", floatBytes(1.5f, -2f), "1", new byte[] {7, 0, 0, 0, 0, 0, 0, 0}));
    }

    @Test
    void findsTheStateDictNestedUnderCommonKeys() throws IOException {
        for (String key : TorchCheckpoint.STATE_DICT_KEYS) {
            Map<String, NDArray> stateDict = TorchCheckpoint.readStateDict(nestedCheckpoint(key), manager);
            assertThat(stateDict.keySet()).as(key).containsExactly("w", "b");
            assertThat(stateDict.get("w").toFloatArray()).containsExactly(1.5f, -2f);
            assertThat(stateDict.get("b").getLong()).isEqualTo(7L);
        }
    }

    @Test
    void readExposesTheWholeTopLevelObject() throws IOException {
        Object top = TorchCheckpoint.read(nestedCheckpoint("state_dict"), manager);

        assertThat(top).isInstanceOf(Map.class);
        Map<?, ?> map = (Map<?, ?>) top;
        assertThat(new ArrayList<Object>(map.keySet())).containsExactly("epoch", "lr", "flags", "size", "dtype", "names", "blob",
                "state_dict");
        assertThat(map.get("epoch")).isEqualTo(3);
        assertThat(map.get("lr")).isEqualTo(0.25);
        assertThat(new ArrayList<Object>((List<?>) map.get("flags"))).containsExactly(true, null);
        assertThat(new ArrayList<Object>((List<?>) map.get("size"))).containsExactly(2L, 3L);
        assertThat(map.get("dtype")).isEqualTo(SafetensorsDtype.F16);
        assertThat(new ArrayList<Object>((Set<?>) map.get("names"))).containsExactly("a");
        assertThat((byte[]) map.get("blob")).containsExactly((byte) 0xFF, (byte) 1);
        NDArray w = (NDArray) ((Map<?, ?>) map.get("state_dict")).get("w");
        assertThat(w.toFloatArray()).containsExactly(1.5f, -2f);
        assertThat(w.getName()).isEqualTo("state_dict.w");
        assertThat(TorchCheckpoint.findStateDict(top)).containsOnlyKeys("w", "b").containsEntry("w", w);
    }

    @Test
    void reportsWhenThereIsNoStateDict() throws IOException {
        Path file = TorchFiles.write(dir.resolve("none.pt"),
                PickleBytes.protocol2().emptyDict().str("epoch").integer(3).setitem().stop().bytes(), Map.of());

        assertThatThrownBy(() -> TorchCheckpoint.readStateDict(file, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("none.pt")
                .hasMessageContaining("holds no state dict")
                .hasMessageContaining("[epoch]");
        assertThatThrownBy(() -> TorchCheckpoint.findStateDict(List.of(1, 2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a dict");
    }

    @Test
    void aTensorPickledOnceUnderTwoNamesIsOneArray() throws IOException {
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark()
                .str("embed").tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}).binput(9)
                .str("unembed").binget(9)
                .setitems().stop();
        Path file = TorchFiles.write(dir.resolve("tied.pt"), pickle.bytes(), Map.of("0", floatBytes(4f, 5f)));

        Map<String, NDArray> read = TorchCheckpoint.readStateDict(file, manager);

        assertThat(read.get("unembed")).isSameAs(read.get("embed"));
        assertThat(manager.getManagedArrays()).hasSize(1);
    }

    @Test
    void keepsNoStagingArraysAndReleasesEverythingOnFailure() throws IOException {
        TorchCheckpoint.readStateDict(resource("arena_brackets_3l_state_dict.pt"), manager);
        assertThat(manager.getManagedArrays()).hasSize(60);

        // The second tensor holds a BOOL byte of 2: the first tensor is loaded, then released.
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark()
                .str("a").tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1})
                .str("b").tensor("BoolStorage", "1", 2, 0, new long[] {2}, new long[] {1})
                .setitems().stop();
        Map<String, byte[]> storages = new LinkedHashMap<>();
        storages.put("0", floatBytes(1f, 2f));
        storages.put("1", new byte[] {1, 2});
        Path file = TorchFiles.write(dir.resolve("partial.pt"), pickle.bytes(), storages);
        try (NDManager child = manager.newSubManager()) {
            assertThatThrownBy(() -> TorchCheckpoint.readStateDict(file, child))
                    .isInstanceOf(MalformedWeightsException.class)
                    .hasMessageContaining("partial.pt: 'b'")
                    .hasMessageContaining("BOOL element 1 is byte 2");
            assertThat(child.getManagedArrays()).isEmpty();
        }
    }
}
