package org.lens4j.models.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import org.lens4j.core.io.Safetensors;

/** Reads a weight file of any supported format, picking the reader by the file's name. */
public final class WeightFiles {

    /** File names tried, in this order, when {@link #readAny} is given a directory. */
    public static final List<String> DIRECTORY_FILES =
            List.of(ShardedSafetensors.INDEX_FILE, "model.safetensors", "pytorch_model.bin");

    private WeightFiles() {}

    /**
     * Reads all tensors of a weight file: {@code *.safetensors} with {@link Safetensors},
     * {@code *.index.json} with {@link ShardedSafetensors}, {@code *.pth}, {@code *.pt} and {@code *.bin}
     * with {@link TorchCheckpoint#readStateDict}. Given a directory (such as a Hugging Face snapshot), reads
     * the first of {@link #DIRECTORY_FILES} it holds.
     *
     * @param path a weight file, or a directory holding one
     * @param manager the manager that will own the arrays (the caller closes it)
     * @return the tensors by name, in file order
     * @throws IOException if the name is of no known format, a directory holds no known file, or the file
     *     cannot be read
     */
    public static LinkedHashMap<String, NDArray> readAny(Path path, NDManager manager) throws IOException {
        if (Files.isDirectory(path)) {
            for (String name : DIRECTORY_FILES) {
                if (Files.isRegularFile(path.resolve(name))) {
                    return readAny(path.resolve(name), manager);
                }
            }
            throw new NoSuchFileException(path.toString(), null, "directory holds none of " + DIRECTORY_FILES);
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".safetensors")) {
            return Safetensors.read(path, manager);
        }
        if (name.endsWith(".index.json")) {
            return ShardedSafetensors.read(path, manager);
        }
        if (name.endsWith(".pth") || name.endsWith(".pt") || name.endsWith(".bin")) {
            return TorchCheckpoint.readStateDict(path, manager);
        }
        throw new IOException(path + ": unknown weight file type; expected .safetensors, .index.json (sharded "
                + "safetensors), .pth, .pt or .bin");
    }
}
