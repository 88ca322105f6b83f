package org.lens4j.models.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import ai.djl.ndarray.NDManager;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.lens4j.core.io.MalformedWeightsException;

/** Hostile and broken checkpoints: each is refused with a message naming the file and the culprit. */
class TorchCheckpointHostileTest {

    private static final String PICKLE = "archive/data.pkl";

    @TempDir
    Path dir;

    private NDManager manager;

    @BeforeEach
    void openManager() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void closeManager() {
        assertThat(manager.getManagedArrays()).isEmpty();
        manager.close();
    }

    private void assertRefused(Path file, String entry, String... fragments) {
        assertThatThrownBy(() -> TorchCheckpoint.readStateDict(file, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageStartingWith(file + (entry == null ? ": " : ": '" + entry + "'"))
                .hasMessageContainingAll(fragments);
    }

    private Path checkpoint(PickleBytes pickle, Map<String, byte[]> storages) throws IOException {
        return TorchFiles.write(dir.resolve("hostile.pt"), pickle.bytes(), storages);
    }

    private static byte[] floats(int count) {
        return new byte[4 * count];
    }

    // ------------------------------------------------------------------ globals and opcodes

    static Stream<Arguments> forbiddenGlobals() {
        return Stream.of(
                arguments("os", "system"), arguments("posix", "system"), arguments("nt", "system"),
                arguments("builtins", "eval"), arguments("builtins", "exec"), arguments("__builtin__", "eval"),
                arguments("builtins", "getattr"), arguments("builtins", "__import__"),
                arguments("subprocess", "Popen"), arguments("subprocess", "check_output"),
                arguments("webbrowser", "open"), arguments("torch", "load"),
                arguments("torch._utils", "_rebuild_qtensor"), arguments("numpy.core.multiarray", "_reconstruct"),
                // Pyrolite's own defaults, which a plain Pyrolite unpickler would accept:
                arguments("copy_reg", "_reconstructor"), arguments("copyreg", "_reconstructor"),
                arguments("builtins", "bytearray"), arguments("datetime", "datetime"),
                arguments("operator", "attrgetter"), arguments("my_module", "MyModel"));
    }

    @ParameterizedTest(name = "{0}.{1}")
    @MethodSource("forbiddenGlobals")
    void refusesAnyOtherGlobalByName(String module, String name) throws IOException {
        Path file = checkpoint(PickleBytes.protocol2().global(module, name).mark().str("touch /tmp/pwned").tuple()
                .reduce().stop(), Map.of());

        assertRefused(file, PICKLE, "pickle global '" + module + "." + name + "' is not allowed",
                "torch._utils._rebuild_tensor_v2");
    }

    @Test
    void refusesAForbiddenGlobalInsideAStateDict() throws IOException {
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark()
                .str("ok").tensor("FloatStorage", "0", 1, 0, new long[] {1}, new long[] {1})
                .str("evil").global("os", "system").str("rm -rf /").op(0x85).reduce()
                .setitems().stop();

        assertRefused(checkpoint(pickle, Map.of("0", floats(1))), PICKLE, "'os.system' is not allowed");
    }

    @Test
    void refusesStackGlobalsToo() throws IOException {
        // Protocol 4 names globals with two strings on the stack.
        PickleBytes pickle = new PickleBytes().op(0x80, 4).op(0x8c, 8).raw(bytes("builtins"))
                .op(0x8c, 4).raw(bytes("exec")).op(0x93)
                .str("print(1)").op(0x85).reduce().stop();

        assertRefused(checkpoint(pickle, Map.of()), PICKLE, "'builtins.exec' is not allowed");
    }

    static Stream<Arguments> forbiddenOpcodes() {
        return Stream.of(
                arguments("INST", PickleBytes.protocol2().mark().str("id").op('i').raw(bytes("os\nsystem\n")).stop(),
                        "opcode 0x69 is not allowed"),
                arguments("OBJ", PickleBytes.protocol2().mark().global("torch", "Size").op('o').stop(),
                        "opcode 0x6f is not allowed"),
                arguments("NEWOBJ_EX", PickleBytes.protocol2().global("torch", "Size").emptyTuple().emptyDict()
                        .op(0x92).stop(), "opcode 0x92 is not allowed"),
                arguments("EXT1", PickleBytes.protocol2().op(0x82, 1).stop(), "opcode 0x82 is not allowed"),
                arguments("PERSID", PickleBytes.protocol2().op('P').raw(bytes("0\n")).stop(), "text opcode 'P'"),
                arguments("LONG", PickleBytes.protocol2().op('L').raw(bytes("9".repeat(100_000) + "L\n")).stop(),
                        "text opcode 'L'"),
                arguments("INT", PickleBytes.protocol2().op('I').raw(bytes("1\n")).stop(), "text opcode 'I'"),
                arguments("PUT", PickleBytes.protocol2().none().op('p').raw(bytes("0\n")).stop(), "text opcode 'p'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forbiddenOpcodes")
    void refusesOpcodesAStateDictNeverUses(String name, PickleBytes pickle, String fragment) throws IOException {
        assertRefused(checkpoint(pickle, Map.of()), PICKLE, fragment);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static Stream<Arguments> malformedPickles() {
        long[] one = {1};
        return Stream.of(
                arguments("call of a non-callable", PickleBytes.protocol2().global("torch", "float32").emptyTuple()
                        .reduce().stop(), "F32 is called but is not callable"),
                arguments("wrong arity", PickleBytes.protocol2().global("collections", "OrderedDict").integer(1)
                        .op(0x85).reduce().stop(), "collections.OrderedDict takes 0 arguments, not 1"),
                arguments("BUILD on a tensor", PickleBytes.protocol2()
                        .tensor("FloatStorage", "0", 1, 0, one, one).emptyDict().build().stop(),
                        "BUILD (setting object state) on a TensorRef is not allowed"),
                arguments("persistent id of the wrong shape", PickleBytes.protocol2().str("storage").binpersid().stop(),
                        "persistent id 'storage' is not ('storage', type, key, location, numel)"),
                arguments("storage type that is no storage class", PickleBytes.protocol2().mark().str("storage")
                        .global("torch", "float32").str("0").str("cpu").integer(1).tuple().binpersid().stop(),
                        "storage type F32"),
                arguments("storage declared twice", PickleBytes.protocol2().mark()
                        .tensor("FloatStorage", "0", 1, 0, one, one).tensor("FloatStorage", "0", 2, 0, one, one)
                        .tuple().stop(), "storage '0' is declared as both"),
                arguments("stride past the storage", PickleBytes.protocol2()
                        .tensor("FloatStorage", "0", 24, 0, new long[] {5}, new long[] {6}).stop(),
                        "size [5], stride [6]) on storage '0' of 24 elements reaches outside the storage"),
                arguments("offset past the storage", PickleBytes.protocol2()
                        .tensor("FloatStorage", "0", 24, 24, one, one).stop(), "reaches outside the storage"),
                arguments("negative stride", PickleBytes.protocol2()
                        .tensor("FloatStorage", "0", 24, 10, new long[] {3}, new long[] {-1}).stop(),
                        "has a negative offset, size or stride"),
                arguments("negative size", PickleBytes.protocol2()
                        .tensor("FloatStorage", "0", 24, 0, new long[] {-3}, one).stop(),
                        "has a negative offset, size or stride"),
                arguments("ranks differ", PickleBytes.protocol2()
                        .tensor("FloatStorage", "0", 24, 0, new long[] {2, 3}, one).stop(), "has 2 sizes but 1 strides"),
                arguments("size overflow", PickleBytes.protocol2()
                        .tensor("FloatStorage", "0", 1, 0, new long[] {1L << 40, 1L << 40}, new long[] {0, 0}).stop(),
                        "overflows"),
                arguments("size that is no int", PickleBytes.protocol2().global("torch._utils", "_rebuild_tensor_v2")
                        .mark().mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(1)
                        .tuple().binpersid().integer(0).str("3").op(0x85).integer(1).op(0x85).bool(false)
                        .orderedDict().tuple().reduce().stop(), "size is '3', not an int"),
                arguments("truncated", PickleBytes.protocol2().orderedDict(), "malformed pickle"),
                arguments("empty stack", PickleBytes.protocol2().reduce().stop(), "malformed pickle"),
                arguments("huge string length", PickleBytes.protocol2().op('X', 0xFF, 0xFF, 0xFF, 0x7F, 'a').stop(),
                        "opcode 0x58 declares 2147483647 bytes but the pickle has 2 left"),
                arguments("negative string length", PickleBytes.protocol2().op('X', 0xFB, 0xFF, 0xFF, 0xFF).stop(),
                        "declares -5 bytes"),
                arguments("huge bytes8 length", PickleBytes.protocol2()
                        .op(0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40).stop(), "declares 4611686018427387904 bytes"),
                arguments("huge long4 length", PickleBytes.protocol2().op(0x8b, 0, 0, 0, 0x10).stop(),
                        "declares 268435456 bytes"),
                arguments("list as a dict key", PickleBytes.protocol2().emptyDict().emptyList().none().setitem().stop(),
                        "a ArrayList used as a dict key or set element"),
                arguments("tuple holding a list as a set element", PickleBytes.protocol2().global("builtins", "set")
                        .emptyList().emptyList().op(0x85).append().op(0x85).reduce().stop(),
                        "used as a dict key or set element"),
                arguments("odd dict items", PickleBytes.protocol2().emptyDict().mark().none().setitems().stop(),
                        "dict items come in an odd number (1)"),
                arguments("SETITEMS on a list", PickleBytes.protocol2().emptyList().mark().none().none().setitems()
                        .stop(), "SETITEMS on a ArrayList, which is not a dict"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedPickles")
    void refusesMalformedPickles(String name, PickleBytes pickle, String fragment) throws IOException {
        assertRefused(checkpoint(pickle, Map.of("0", floats(24))), PICKLE, fragment);
    }

    @Test
    void boundsTheOpcodesASmallPickleMayRun() throws IOException {
        PickleBytes pickle = PickleBytes.protocol2();
        for (long i = 0; i <= TorchCheckpoint.MAX_PICKLE_OPCODES / 2; i++) {
            pickle.none().op('0');
        }

        assertRefused(checkpoint(pickle.stop(), Map.of()), PICKLE, "more than 5000000 opcodes");
    }

    @Test
    void boundsThePickleSizeBeforeReadingIt() throws IOException {
        // The headers declare one byte over the limit; the check must come before any byte is read.
        List<ZipBytes.Entry> entries = new ArrayList<>(TorchFiles.entries(new byte[0], Map.of()));
        entries.set(0, new ZipBytes.Entry(PICKLE, new byte[10], false, TorchCheckpoint.MAX_PICKLE_BYTES + 1, 0, null));

        assertRefused(TorchFiles.write(dir.resolve("big.pt"), entries), PICKLE,
                "is 33554433 bytes, more than the limit of 33554432");
    }

    @Test
    void boundsNestingAndSurvivesCycles() throws IOException {
        PickleBytes deep = PickleBytes.protocol2();
        for (int i = 0; i < 150; i++) {
            deep.emptyList();
        }
        for (int i = 0; i < 149; i++) {
            deep.append();
        }
        Path deepFile = checkpoint(deep.stop(), Map.of());
        assertThatThrownBy(() -> TorchCheckpoint.read(deepFile, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("nested more than 100 deep");

        // A list that holds itself, and a dict whose "model" is itself.
        Path cyclic = checkpoint(PickleBytes.protocol2().emptyList().binput(0).binget(0).append().stop(), Map.of());
        Object top = TorchCheckpoint.read(cyclic, manager);
        assertThat(((List<?>) top).get(0)).isSameAs(top);
        Path selfModel = checkpoint(PickleBytes.protocol2().emptyDict().binput(0).str("model").binget(0).setitem()
                .str("epoch").integer(1).setitem().stop(), Map.of());
        assertRefused(selfModel, null, "holds no state dict", "[model, epoch]");
    }

    // ------------------------------------------------------------------ storages and the zip container

    private static PickleBytes oneTensor(String storageClass, long numel) {
        return PickleBytes.protocol2().orderedDict().mark()
                .str("w").tensor(storageClass, "0", numel, 0, new long[] {numel}, new long[] {1})
                .setitems().stop();
    }

    @Test
    void refusesMissingAndMisSizedStorages() throws IOException {
        assertRefused(checkpoint(oneTensor("FloatStorage", 4), Map.of()), "archive/data/0",
                "storage entry is missing (needed by tensor 'w')");
        assertRefused(checkpoint(oneTensor("FloatStorage", 4), Map.of("0", floats(3))), "archive/data/0",
                "holds 12 bytes but should hold 16");
    }

    @Test
    void refusesCompressedEntriesWithoutInflatingThem() throws IOException {
        List<ZipBytes.Entry> entries = new ArrayList<>(TorchFiles.entries(oneTensor("FloatStorage", 4).bytes(),
                Map.of()));
        entries.add(2, new ZipBytes.Entry("archive/data/0", floats(4), true, -1, 0, null));
        assertRefused(TorchFiles.write(dir.resolve("deflated-storage.pt"), entries), "archive/data/0",
                "is compressed");

        List<ZipBytes.Entry> compressedPickle = new ArrayList<>(TorchFiles.entries(new byte[0], Map.of()));
        compressedPickle.set(0, new ZipBytes.Entry(PICKLE, oneTensor("FloatStorage", 1).bytes(), true, -1, 0, null));
        assertRefused(TorchFiles.write(dir.resolve("deflated.pt"), compressedPickle), PICKLE, "is compressed");
    }

    @Test
    void refusesAZipBombBeforeAllocatingAnything() throws IOException {
        // 64 MiB of zeros deflate to about 64 KiB; the tensor would be 1000 times the file.
        int numel = 16 << 20;
        List<ZipBytes.Entry> entries = new ArrayList<>(TorchFiles.entries(oneTensor("FloatStorage", numel).bytes(),
                Map.of()));
        entries.add(2, new ZipBytes.Entry("archive/data/0", new byte[4 * numel], true, -1, 0, null));
        Path bomb = TorchFiles.write(dir.resolve("bomb.pt"), entries);
        assertThat(Files.size(bomb)).isLessThan(1 << 20);

        assertRefused(bomb, "w", "would bring the tensors loaded to more than 8 times the file's");
    }

    @Test
    void refusesEntriesThatShareBytes() throws IOException {
        // Ten storage entries, all pointing at the bytes of the first: ten times the file's data.
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark();
        List<ZipBytes.Entry> entries = new ArrayList<>();
        entries.add(ZipBytes.Entry.stored("archive/data/0", floats(1024)));
        for (int i = 0; i < 10; i++) {
            pickle.str("w" + i).tensor("FloatStorage", String.valueOf(i), 1024, 0, new long[] {1024}, new long[] {1});
            if (i > 0) {
                entries.add(new ZipBytes.Entry("archive/data/" + i, floats(1024), false, -1, 0, "archive/data/0"));
            }
        }
        entries.add(ZipBytes.Entry.stored(PICKLE, pickle.setitems().stop().bytes()));
        Path file = TorchFiles.write(dir.resolve("overlap.pt"), entries);

        assertThatThrownBy(() -> TorchCheckpoint.readStateDict(file, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("overlap.pt: 'archive/data/")
                .hasMessageContaining("zip entries share bytes");
    }

    @Test
    void boundsWhatViewsMayMultiply() throws IOException {
        // One float viewed as a [2^20, 64] tensor through zero strides: 256 MiB from a file of a few hundred bytes.
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark()
                .str("w").tensor("FloatStorage", "0", 1, 0, new long[] {1 << 20, 64}, new long[] {0, 0})
                .setitems().stop();

        assertRefused(checkpoint(pickle, Map.of("0", floats(1))), "w", "more than 8 times the file's");
    }

    @Test
    void refusesDamagedEntries() throws IOException {
        List<ZipBytes.Entry> entries = new ArrayList<>(TorchFiles.entries(oneTensor("FloatStorage", 2).bytes(),
                Map.of()));
        entries.add(2, new ZipBytes.Entry("archive/data/0", floats(2), false, -1, 0x10, null));
        assertRefused(TorchFiles.write(dir.resolve("crc.pt"), entries), "archive/data/0",
                "fails its CRC-32 check");

        // The headers claim 16 bytes where 8 are stored: the reader runs into the next header and the CRC fails.
        entries.set(2, new ZipBytes.Entry("archive/data/0", floats(2), false, 16, 0, null));
        Path lying = TorchFiles.write(dir.resolve("size.pt"), entries);
        assertThatThrownBy(() -> TorchCheckpoint.readStateDict(lying, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("'archive/data/0'");
    }

    @Test
    void refusesWhatIsNotATorchZipCheckpoint() throws IOException {
        Path text = Files.writeString(dir.resolve("text.pt"), "hello, not a zip");
        assertRefused(text, null, "is not a valid zip archive (torch.save writes zip files)");

        Path empty = Files.write(dir.resolve("empty.pt"), new byte[0]);
        assertRefused(empty, null, "is not a valid zip archive");

        Path legacy = Files.write(dir.resolve("legacy.pt"), new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10});
        assertRefused(legacy, null, "legacy torch.save format (before torch 1.6)");

        Path noPickle = TorchFiles.write(dir.resolve("nopickle.pt"),
                List.of(ZipBytes.Entry.stored("archive/data/0", floats(1))));
        assertRefused(noPickle, null, "must hold exactly one <archive>/data.pkl entry, found []");

        Path twoPickles = TorchFiles.write(dir.resolve("two.pt"), List.of(ZipBytes.Entry.stored(PICKLE, new byte[1]),
                ZipBytes.Entry.stored("other/data.pkl", new byte[1])));
        assertRefused(twoPickles, null, "found [archive/data.pkl, other/data.pkl]");

        List<ZipBytes.Entry> bigEndian = new ArrayList<>(TorchFiles.entries(oneTensor("FloatStorage", 1).bytes(),
                Map.of("0", floats(1))));
        bigEndian.set(1, ZipBytes.Entry.stored("archive/byteorder", bytes("big")));
        assertRefused(TorchFiles.write(dir.resolve("big-endian.pt"), bigEndian), "archive/byteorder",
                "byte order is 'big'; lens4j reads little-endian checkpoints only");

        assertThatThrownBy(() -> TorchCheckpoint.readStateDict(dir.resolve("absent.pt"), manager))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("absent.pt");
        assertThatThrownBy(() -> TorchCheckpoint.readStateDict(dir, manager))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a regular file");
    }

    @Test
    void refusesNegativeZip64Sizes() throws IOException {
        // A central directory entry whose ZIP64 extra field gives the size as -5.
        byte[] name = bytes(PICKLE);
        byte[] data = PickleBytes.protocol2().emptyDict().stop().bytes();
        CRC32 crc = new CRC32();
        crc.update(data);
        ByteBuffer zip = ByteBuffer.allocate(30 + name.length + data.length + 46 + name.length + 20 + 22)
                .order(ByteOrder.LITTLE_ENDIAN);
        zip.putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0x21).putInt((int) crc.getValue()).putInt(data.length).putInt(data.length)
                .putShort((short) name.length).putShort((short) 0).put(name).put(data);
        int central = zip.position();
        zip.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue()).putInt(-1).putInt(-1)
                .putShort((short) name.length).putShort((short) 20).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putInt(0).putInt(0).put(name)
                .putShort((short) 1).putShort((short) 16).putLong(-5).putLong(-5);
        int centralSize = zip.position() - central;
        zip.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) 1).putShort((short) 1)
                .putInt(centralSize).putInt(central).putShort((short) 0);

        assertRefused(Files.write(dir.resolve("zip64.pt"), zip.array()), null, "zip");
    }

    @Test
    void boundsTheNumberOfEntries() throws IOException {
        Path file = dir.resolve("many.pt");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file));
                ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.setMethod(ZipOutputStream.STORED);
            for (int i = 0; i <= TorchCheckpoint.MAX_ENTRIES; i++) {
                ZipEntry entry = new ZipEntry("archive/data/" + i);
                entry.setSize(0);
                entry.setCompressedSize(0);
                entry.setCrc(new CRC32().getValue());
                zip.putNextEntry(entry);
                zip.closeEntry();
            }
        }

        assertRefused(file, null, "has 100001 zip entries, more than the limit of 100000");
    }

    @Test
    void messagesNameTheTensorWhoseBooleansAreBad() throws IOException {
        Map<String, byte[]> storages = new LinkedHashMap<>();
        storages.put("0", new byte[] {0, 1, 3});
        assertRefused(checkpoint(oneTensor("BoolStorage", 3), storages), "w", "BOOL element 2 is byte 3");
    }
}
