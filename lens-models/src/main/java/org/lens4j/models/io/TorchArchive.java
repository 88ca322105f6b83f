package org.lens4j.models.io;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import net.razorvine.pickle.PickleException;
import org.lens4j.core.io.MalformedWeightsException;
import org.lens4j.core.io.TensorBytes;

/**
 * An open {@code torch.save} zip archive: {@code <archive>/data.pkl}, the storages {@code
 * <archive>/data/<key>} and optionally {@code <archive>/byteorder}. It unpickles {@code data.pkl} with the
 * {@link RestrictedUnpickler} and loads tensors storage by storage.
 *
 * <p>Limits against hostile archives: at most {@link TorchCheckpoint#MAX_ENTRIES} entries; only stored
 * (uncompressed) entries, which is what {@code torch.save} writes, so no entry can inflate; each entry's
 * size must be what the pickle needs and its CRC must match; the storages read may not total more than the
 * file, so entries that share bytes cannot multiply them; and the tensors loaded may not total more than
 * {@link TorchCheckpoint#MAX_LOADED_TO_FILE_RATIO} times the file. All of it is checked before any
 * storage is allocated.
 */
final class TorchArchive implements AutoCloseable {

    private static final String PICKLE = "data.pkl";

    private final Path file;
    private final long fileSize;
    private final ZipFile zip;
    private final String prefix;

    private TorchArchive(Path file, long fileSize, ZipFile zip, String prefix) {
        this.file = file;
        this.fileSize = fileSize;
        this.zip = zip;
        this.prefix = prefix;
    }

    /**
     * Opens a checkpoint and checks its layout.
     *
     * @param file the checkpoint
     * @return the open archive (the caller closes it)
     * @throws MalformedWeightsException if the file is not a torch zip checkpoint or breaks a limit
     * @throws IOException if the file cannot be read
     */
    static TorchArchive open(Path file) throws IOException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new FileSystemException(file.toString(), null, "not a regular file");
        }
        long size = Files.size(file);
        byte[] magic;
        try (InputStream in = Files.newInputStream(file)) {
            magic = in.readNBytes(2);
        }
        if (magic.length == 2 && (magic[0] & 0xFF) == 0x80 && magic[1] == 2) {
            throw new MalformedWeightsException(file, "is in the legacy torch.save format (before torch 1.6), which "
                    + "lens4j does not read; re-save it with a newer torch or convert it to safetensors");
        }
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException | IllegalArgumentException e) {
            throw new MalformedWeightsException(file, null, "is not a valid zip archive (torch.save writes zip "
                    + "files): " + e.getMessage(), e);
        }
        try {
            TorchArchive archive = new TorchArchive(file, size, zip, findPrefix(file, zip));
            archive.checkByteOrder();
            return archive;
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static String findPrefix(Path file, ZipFile zip) throws MalformedWeightsException {
        if (zip.size() > TorchCheckpoint.MAX_ENTRIES) {
            throw new MalformedWeightsException(file, "has " + zip.size() + " zip entries, more than the limit of "
                    + TorchCheckpoint.MAX_ENTRIES);
        }
        List<String> pickles = new ArrayList<>();
        try {
            zip.stream().map(ZipEntry::getName).filter(name -> name.endsWith("/" + PICKLE)
                    && name.indexOf('/') == name.length() - PICKLE.length() - 1).forEach(pickles::add);
        } catch (IllegalArgumentException e) {
            throw new MalformedWeightsException(file, null, "has a zip entry with a malformed name", e);
        }
        if (pickles.size() != 1) {
            throw new MalformedWeightsException(file, "must hold exactly one <archive>/" + PICKLE + " entry, found "
                    + pickles);
        }
        return pickles.get(0).substring(0, pickles.get(0).length() - PICKLE.length());
    }

    private void checkByteOrder() throws IOException {
        ZipEntry entry = zip.getEntry(prefix + "byteorder");
        if (entry == null) {
            return; // Written since torch 1.10; older checkpoints are little-endian.
        }
        if (entry.getSize() < 0 || entry.getSize() > 16) {
            throw new MalformedWeightsException(file, entry.getName(), "is " + entry.getSize()
                    + " bytes; expected 'little'");
        }
        ByteBuffer bytes = read(entry, entry.getSize(), ByteBuffer.allocate((int) entry.getSize()));
        String order = StandardCharsets.US_ASCII.decode(bytes).toString().trim();
        if (!"little".equals(order)) {
            throw new MalformedWeightsException(file, entry.getName(), "byte order is '" + order
                    + "'; lens4j reads little-endian checkpoints only");
        }
    }

    /**
     * Unpickles {@code data.pkl}: the top-level object, with tensors as unloaded {@link TensorRef}s.
     *
     * @return the top-level object
     * @throws MalformedWeightsException if the pickle is malformed, too large or refused
     * @throws IOException if the file cannot be read
     */
    Object unpickle() throws IOException {
        ZipEntry entry = zip.getEntry(prefix + PICKLE);
        if (entry.getSize() < 0 || entry.getSize() > TorchCheckpoint.MAX_PICKLE_BYTES) {
            throw new MalformedWeightsException(file, entry.getName(), "is " + entry.getSize()
                    + " bytes, more than the limit of " + TorchCheckpoint.MAX_PICKLE_BYTES);
        }
        byte[] bytes = new byte[(int) entry.getSize()];
        read(entry, entry.getSize(), ByteBuffer.wrap(bytes));
        try {
            return RestrictedUnpickler.load(bytes, TorchCheckpoint.MAX_PICKLE_OPCODES);
        } catch (PickleException e) {
            throw new MalformedWeightsException(file, entry.getName(), e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            // Pyrolite reports a broken pickle with whatever its code trips on (casts, empty stack, EOF).
            throw new MalformedWeightsException(file, entry.getName(), "malformed pickle: " + e, e);
        }
    }

    /**
     * Loads tensors into engine-owned arrays, reading each storage once.
     *
     * @param tensors the tensors to load, with the names to give them (identity-keyed)
     * @param manager the manager that will own the arrays
     * @return each tensor's array (identity-keyed)
     * @throws MalformedWeightsException if a storage entry is missing or does not match the pickle
     * @throws IOException if the file cannot be read
     */
    IdentityHashMap<TensorRef, NDArray> load(IdentityHashMap<TensorRef, String> tensors, NDManager manager)
            throws IOException {
        // Group by storage so that one storage is in memory at a time.
        Map<StorageRef, List<TensorRef>> byStorage = new LinkedHashMap<>();
        long loadedTotal = 0;
        for (TensorRef tensor : tensors.keySet()) {
            byStorage.computeIfAbsent(tensor.storage(), s -> new ArrayList<>()).add(tensor);
            long loaded = TensorBytes.loadedBytes(tensor.storage().dtype(), tensor.numel());
            // Views and shared storages let a small file describe huge tensors (stride 0, one storage
            // under many names); real checkpoints stay within a few times their size.
            if (loaded > TorchCheckpoint.MAX_LOADED_TO_FILE_RATIO * fileSize - loadedTotal) {
                throw new MalformedWeightsException(file, tensors.get(tensor), "would bring the tensors loaded to "
                        + "more than " + TorchCheckpoint.MAX_LOADED_TO_FILE_RATIO + " times the file's " + fileSize
                        + " bytes");
            }
            loadedTotal += loaded;
        }
        // Check every storage entry before allocating anything for them.
        Map<StorageRef, ZipEntry> entries = new LinkedHashMap<>();
        long storageTotal = 0;
        StorageRef largestStorage = null;
        for (Map.Entry<StorageRef, List<TensorRef>> group : byStorage.entrySet()) {
            StorageRef storage = group.getKey();
            entries.put(storage, storageEntry(storage, tensors.get(group.getValue().get(0))));
            // Stored entries cannot hold more than the file, unless they share bytes.
            if (storage.byteLength() > fileSize - storageTotal) {
                throw new MalformedWeightsException(file, prefix + "data/" + storage.key(), "brings the storage "
                        + "entries read to more than the file's " + fileSize + " bytes: zip entries share bytes");
            }
            storageTotal += storage.byteLength();
            if (largestStorage == null || storage.byteLength() > largestStorage.byteLength()) {
                largestStorage = storage;
            }
        }
        IdentityHashMap<TensorRef, NDArray> arrays = new IdentityHashMap<>();
        try (NDManager scratch = manager.newSubManager(Device.cpu())) {
            ByteBuffer staging = storageStaging(largestStorage, scratch);
            for (Map.Entry<StorageRef, List<TensorRef>> group : byStorage.entrySet()) {
                StorageRef storage = group.getKey();
                ByteBuffer bytes = read(entries.get(storage), storage.byteLength(), staging);
                for (TensorRef tensor : group.getValue()) {
                    arrays.put(tensor, TensorBytes.load(file, tensors.get(tensor), storage.dtype(), tensor.shape(),
                            manager, target -> tensor.gather(bytes, target)));
                }
            }
        } catch (Throwable failure) {
            arrays.values().forEach(NDArray::close);
            throw failure;
        }
        return arrays;
    }

    /**
     * One buffer, reused for every storage, sized by the largest. It is engine memory owned by {@code
     * scratch}, so it is freed as soon as loading ends rather than whenever the garbage collector runs.
     */
    private ByteBuffer storageStaging(StorageRef largest, NDManager scratch) throws IOException {
        long bytes = largest == null ? 0 : largest.byteLength();
        if (bytes > Integer.MAX_VALUE) {
            throw new IOException(file + ": '" + prefix + "data/" + largest.key() + "': storage of " + bytes
                    + " bytes is over the 2 GiB lens4j can read at once");
        }
        return bytes == 0 ? ByteBuffer.allocate(0)
                : TensorBytes.memory(scratch.create(new Shape(bytes), DataType.UINT8));
    }

    private ZipEntry storageEntry(StorageRef storage, String tensor) throws MalformedWeightsException {
        String name = prefix + "data/" + storage.key();
        ZipEntry entry = zip.getEntry(name);
        if (entry == null) {
            throw new MalformedWeightsException(file, name, "storage entry is missing (needed by tensor '" + tensor
                    + "')");
        }
        checkEntry(entry, storage.byteLength());
        return entry;
    }

    private void checkEntry(ZipEntry entry, long expected) throws MalformedWeightsException {
        if (entry.getMethod() != ZipEntry.STORED) {
            throw new MalformedWeightsException(file, entry.getName(), "is compressed; torch.save stores entries "
                    + "uncompressed and lens4j reads only those");
        }
        if (entry.getSize() != expected) {
            throw new MalformedWeightsException(file, entry.getName(), "holds " + entry.getSize()
                    + " bytes but should hold " + expected);
        }
    }

    /**
     * Reads a whole stored entry, after checking it against the size expected.
     *
     * @param entry the entry
     * @param expected the size the entry must have
     * @param target a buffer with room for {@code expected} bytes
     * @return {@code target}, holding the entry's bytes from 0 to its limit
     */
    private ByteBuffer read(ZipEntry entry, long expected, ByteBuffer target) throws IOException {
        checkEntry(entry, expected);
        ByteBuffer buffer = target.clear().limit((int) expected);
        try (InputStream in = zip.getInputStream(entry); ReadableByteChannel channel = Channels.newChannel(in)) {
            while (buffer.hasRemaining()) {
                if (channel.read(buffer) < 0) {
                    throw new MalformedWeightsException(file, entry.getName(), "ends after " + buffer.position()
                            + " of its " + expected + " bytes");
                }
            }
            if (in.read() >= 0) {
                throw new MalformedWeightsException(file, entry.getName(), "holds more than its " + expected
                        + " bytes");
            }
        } catch (ZipException e) {
            throw new MalformedWeightsException(file, entry.getName(), "cannot be read: " + e.getMessage(), e);
        }
        buffer.flip();
        CRC32 crc = new CRC32();
        crc.update(buffer.duplicate());
        if (crc.getValue() != entry.getCrc()) {
            throw new MalformedWeightsException(file, entry.getName(), "fails its CRC-32 check (damaged file)");
        }
        return buffer;
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }
}
