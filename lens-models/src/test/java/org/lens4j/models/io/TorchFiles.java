package org.lens4j.models.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Test helper: torch.save zip checkpoints with the entries torch writes. */
final class TorchFiles {

    private TorchFiles() {}

    /** The entries of a checkpoint: {@code archive/data.pkl}, {@code byteorder}, storages, {@code version}. */
    static List<ZipBytes.Entry> entries(byte[] pickle, Map<String, byte[]> storages) {
        List<ZipBytes.Entry> entries = new ArrayList<>();
        entries.add(ZipBytes.Entry.stored("archive/data.pkl", pickle));
        entries.add(ZipBytes.Entry.stored("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII)));
        storages.forEach((key, bytes) -> entries.add(ZipBytes.Entry.stored("archive/data/" + key, bytes)));
        entries.add(ZipBytes.Entry.stored("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII)));
        return entries;
    }

    /** Writes a checkpoint made of {@link #entries}. */
    static Path write(Path file, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        return Files.write(file, ZipBytes.write(entries(pickle, storages)));
    }

    /** Writes a zip made of the given entries. */
    static Path write(Path file, List<ZipBytes.Entry> entries) throws IOException {
        return Files.write(file, ZipBytes.write(entries));
    }
}
