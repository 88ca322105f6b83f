package org.lens4j.models.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.lens4j.core.io.MalformedWeightsException;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.io.SafetensorsHeader;

/**
 * Reads sharded safetensors checkpoints: an index {@code model.safetensors.index.json}, {@code {"metadata":
 * {...}, "weight_map": {tensor: shard file}}}, next to the shard files it names.
 *
 * <p>Everything is checked before any tensor data is read: the index is strict JSON with no tensor named
 * twice; shard names stay inside the index's directory (no absolute paths, no {@code ..}); every shard
 * exists and has a valid header; every tensor the index maps to a shard is in that shard, and every tensor
 * in a shard is mapped to it (so no tensor is in two shards).
 */
public final class ShardedSafetensors {

    /** The index file name Hugging Face uses. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    /** Largest index accepted, in bytes (an index lists each tensor once: a few megabytes at most). */
    public static final long MAX_INDEX_BYTES = 64L << 20;

    private ShardedSafetensors() {}

    /**
     * A parsed shard index.
     *
     * @param metadata the {@code metadata} object, values as their JSON text (e.g. {@code total_size})
     * @param weightMap each tensor's shard file name, in index order
     */
    public record Index(Map<String, String> metadata, Map<String, String> weightMap) {}

    /**
     * Reads every tensor of a sharded checkpoint.
     *
     * @param indexFile the index, e.g. {@code model.safetensors.index.json}
     * @param manager the manager that will own the arrays (the caller closes it)
     * @return the tensors by name, in index order
     * @throws MalformedWeightsException if the index or a shard is malformed, or they disagree
     * @throws IOException if a file cannot be read
     */
    public static LinkedHashMap<String, NDArray> read(Path indexFile, NDManager manager) throws IOException {
        Index index = index(indexFile);
        Map<String, Set<String>> byShard = new LinkedHashMap<>();
        index.weightMap().forEach((tensor, shard) -> byShard.computeIfAbsent(shard, s -> new LinkedHashSet<>())
                .add(tensor));
        Map<String, Path> shardFiles = new LinkedHashMap<>();
        for (Map.Entry<String, Set<String>> shard : byShard.entrySet()) {
            Path file = shardFile(indexFile, shard.getKey());
            checkShard(indexFile, index, shard.getKey(), file, shard.getValue());
            shardFiles.put(shard.getKey(), file);
        }
        Map<String, NDArray> loaded = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Path> shard : shardFiles.entrySet()) {
                loaded.putAll(Safetensors.read(shard.getValue(), manager, byShard.get(shard.getKey())::contains));
            }
        } catch (Throwable failure) {
            loaded.values().forEach(NDArray::close);
            throw failure;
        }
        LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
        index.weightMap().keySet().forEach(name -> tensors.put(name, loaded.get(name)));
        return tensors;
    }

    /**
     * Reads and checks an index file (not its shards).
     *
     * @param indexFile the index
     * @return the parsed index
     * @throws MalformedWeightsException if the index is not strict JSON of the expected structure, or names a
     *     tensor twice or a shard outside its directory
     * @throws IOException if the file cannot be read
     */
    public static Index index(Path indexFile) throws IOException {
        if (Files.size(indexFile) > MAX_INDEX_BYTES) {
            throw new MalformedWeightsException(indexFile, "is " + Files.size(indexFile)
                    + " bytes, more than the limit of " + MAX_INDEX_BYTES);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(indexFile)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedWeightsException(indexFile, null, "is not valid UTF-8", e);
        }
        Map<String, String> metadata = null;
        Map<String, String> weightMap = null;
        try (JsonReader reader = new JsonReader(new StringReader(text))) {
            reader.setStrictness(Strictness.STRICT);
            expect(indexFile, null, reader, JsonToken.BEGIN_OBJECT, "the index");
            reader.beginObject();
            while (reader.hasNext()) {
                String key = reader.nextName();
                if ("weight_map".equals(key) && weightMap == null) {
                    weightMap = readWeightMap(indexFile, reader);
                } else if ("metadata".equals(key) && metadata == null) {
                    metadata = readMetadata(indexFile, reader);
                } else if ("weight_map".equals(key) || "metadata".equals(key)) {
                    throw new MalformedWeightsException(indexFile, key, "appears twice");
                } else {
                    reader.skipValue(); // Other keys carry nothing a loader needs.
                }
            }
            reader.endObject();
            expect(indexFile, null, reader, JsonToken.END_DOCUMENT, "what follows the index object");
        } catch (MalformedWeightsException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new MalformedWeightsException(indexFile, null, "is not valid JSON: " + e.getMessage(), e);
        }
        if (weightMap == null) {
            throw new MalformedWeightsException(indexFile, "has no weight_map");
        }
        return new Index(metadata == null ? Map.of() : Collections.unmodifiableMap(metadata),
                Collections.unmodifiableMap(weightMap));
    }

    private static Map<String, String> readWeightMap(Path indexFile, JsonReader reader) throws IOException {
        expect(indexFile, "weight_map", reader, JsonToken.BEGIN_OBJECT, "weight_map");
        Map<String, String> weightMap = new LinkedHashMap<>();
        reader.beginObject();
        while (reader.hasNext()) {
            String tensor = reader.nextName();
            expect(indexFile, tensor, reader, JsonToken.STRING, "the shard of a tensor");
            String shard = reader.nextString();
            if (weightMap.put(tensor, shard) != null) {
                throw new MalformedWeightsException(indexFile, tensor, "tensor appears twice in weight_map");
            }
            checkShardName(indexFile, shard);
        }
        reader.endObject();
        return weightMap;
    }

    private static Map<String, String> readMetadata(Path indexFile, JsonReader reader) throws IOException {
        expect(indexFile, "metadata", reader, JsonToken.BEGIN_OBJECT, "metadata");
        Map<String, String> metadata = new LinkedHashMap<>();
        reader.beginObject();
        while (reader.hasNext()) {
            String key = reader.nextName();
            JsonToken token = reader.peek();
            if (token != JsonToken.STRING && token != JsonToken.NUMBER && token != JsonToken.BOOLEAN) {
                throw new MalformedWeightsException(indexFile, "metadata", "value of '" + key
                        + "' must be a string, number or boolean, found " + token);
            }
            String value = token == JsonToken.BOOLEAN ? String.valueOf(reader.nextBoolean()) : reader.nextString();
            if (metadata.put(key, value) != null) {
                throw new MalformedWeightsException(indexFile, "metadata", "key '" + key + "' appears twice");
            }
        }
        reader.endObject();
        return metadata;
    }

    private static void expect(Path file, String entry, JsonReader reader, JsonToken token, String what)
            throws IOException {
        JsonToken actual = reader.peek();
        if (actual != token) {
            throw new MalformedWeightsException(file, entry, what + " must be " + token + ", found " + actual);
        }
    }

    /** Shard names are plain relative paths below the index's directory. */
    private static void checkShardName(Path indexFile, String shard) throws MalformedWeightsException {
        boolean escapes;
        try {
            Path path = Path.of(shard);
            escapes = shard.isEmpty() || shard.contains("\\") || path.isAbsolute() || path.getRoot() != null;
            for (Path part : path) {
                escapes |= "..".equals(part.toString());
            }
        } catch (InvalidPathException e) {
            escapes = true;
        }
        if (escapes) {
            throw new MalformedWeightsException(indexFile, shard, "shard name must be a relative path inside the "
                    + "index's directory, without '..'");
        }
        if (!shard.endsWith(".safetensors")) {
            throw new MalformedWeightsException(indexFile, shard, "shard is not a .safetensors file; lens4j reads "
                    + "sharded safetensors only (convert sharded .bin checkpoints to safetensors)");
        }
    }

    private static Path shardFile(Path indexFile, String shard) {
        Path dir = indexFile.toAbsolutePath().getParent();
        return dir.resolve(shard);
    }

    private static void checkShard(Path indexFile, Index index, String shard, Path file, Set<String> mapped)
            throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new MalformedWeightsException(indexFile, shard, "shard file " + file + " does not exist");
        }
        SafetensorsHeader header = Safetensors.header(file);
        List<String> missing = new ArrayList<>(mapped);
        missing.removeAll(header.tensors().keySet());
        if (!missing.isEmpty()) {
            throw new MalformedWeightsException(indexFile, missing.get(0), "is mapped to shard '" + shard
                    + "' but that shard does not hold it" + (missing.size() > 1 ? " (nor " + (missing.size() - 1)
                    + " other mapped tensors)" : ""));
        }
        for (String tensor : header.tensors().keySet()) {
            if (!mapped.contains(tensor)) {
                String other = index.weightMap().get(tensor);
                throw new MalformedWeightsException(indexFile, tensor, other == null
                        ? "is in shard '" + shard + "' but not in weight_map"
                        : "is in shard '" + shard + "' too, although weight_map maps it to shard '" + other + "'");
            }
        }
    }
}
