package org.lens4j.models.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.lens4j.core.io.MalformedWeightsException;
import org.lens4j.core.io.RawSafetensors;
import org.lens4j.core.io.Safetensors;

class ShardedSafetensorsTest {

    private static final List<String> SHARDS = List.of("model-00001-of-00003.safetensors",
            "model-00002-of-00003.safetensors", "sub/model-00003-of-00003.safetensors");

    @TempDir
    Path dir;

    private NDManager manager;
    private LinkedHashMap<String, NDArray> weights;

    @BeforeEach
    void loadWeights() throws IOException {
        manager = NDManager.newBaseManager();
        weights = Safetensors.read(TorchCheckpointTest.resource("arena_brackets_3l_weights.safetensors"), manager);
    }

    @AfterEach
    void closeManager() {
        manager.close();
    }

    /** Splits the arena weights over three shards, round robin, and writes the index; returns its path. */
    private Path shardedCheckpoint() throws IOException {
        List<Map<String, NDArray>> shards = List.of(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
        JsonObject weightMap = new JsonObject();
        int i = 0;
        for (Map.Entry<String, NDArray> tensor : weights.entrySet()) {
            shards.get(i % 3).put(tensor.getKey(), tensor.getValue());
            weightMap.addProperty(tensor.getKey(), SHARDS.get(i % 3));
            i++;
        }
        Files.createDirectories(dir.resolve("sub"));
        for (int s = 0; s < 3; s++) {
            Safetensors.write(dir.resolve(SHARDS.get(s)), shards.get(s), Map.of("format", "pt"));
        }
        JsonObject metadata = new JsonObject();
        metadata.addProperty("total_size", 248000);
        JsonObject index = new JsonObject();
        index.add("metadata", metadata);
        index.add("weight_map", weightMap);
        return Files.writeString(dir.resolve(ShardedSafetensors.INDEX_FILE), index.toString());
    }

    @Test
    void readsEveryShardInIndexOrder() throws IOException {
        Path index = shardedCheckpoint();

        LinkedHashMap<String, NDArray> read = ShardedSafetensors.read(index, manager);

        assertThat(read.keySet()).containsExactlyElementsOf(weights.keySet());
        for (Map.Entry<String, NDArray> tensor : weights.entrySet()) {
            assertThat(TorchCheckpointTest.bytesOf(read.get(tensor.getKey())))
                    .as(tensor.getKey()).isEqualTo(TorchCheckpointTest.bytesOf(tensor.getValue()));
        }
        assertThat(ShardedSafetensors.index(index).metadata()).containsExactly(Map.entry("total_size", "248000"));
        assertThat(ShardedSafetensors.index(index).weightMap()).hasSize(54)
                .containsEntry("embed.W_E", SHARDS.get(0));
    }

    /** Each case rewrites the index (or a shard) of a valid sharded checkpoint. */
    static Stream<Arguments> brokenIndexes() {
        String w = "\"embed.W_E\"";
        String shard0 = "\"" + SHARDS.get(0) + "\"";
        return Stream.of(
                arguments("not JSON", "{\"weight_map\": ", null, "is not valid JSON"),
                arguments("top level array", "[]", null, "the index must be BEGIN_OBJECT, found BEGIN_ARRAY"),
                arguments("no weight_map", "{\"metadata\": {}}", null, "has no weight_map"),
                arguments("weight_map twice", "{\"weight_map\": {}, \"weight_map\": {}}", "weight_map", "appears twice"),
                arguments("shard not a string", "{\"weight_map\": {" + w + ": 3}}", "embed.W_E",
                        "the shard of a tensor must be STRING, found NUMBER"),
                arguments("tensor twice", "{\"weight_map\": {" + w + ": " + shard0 + ", " + w + ": " + shard0 + "}}",
                        "embed.W_E", "tensor appears twice in weight_map"),
                arguments("nested metadata", "{\"metadata\": {\"x\": {}}, \"weight_map\": {}}", "metadata",
                        "value of 'x' must be a string, number or boolean, found BEGIN_OBJECT"),
                arguments("parent directory", "{\"weight_map\": {" + w + ": \"../evil.safetensors\"}}",
                        "../evil.safetensors", "must be a relative path inside the index's directory"),
                arguments("absolute path", "{\"weight_map\": {" + w + ": \"/etc/passwd.safetensors\"}}",
                        "/etc/passwd.safetensors", "must be a relative path"),
                arguments("dot-dot inside", "{\"weight_map\": {" + w + ": \"sub/../../x.safetensors\"}}",
                        "sub/../../x.safetensors", "must be a relative path"),
                arguments("backslashes", "{\"weight_map\": {" + w + ": \"..\\\\x.safetensors\"}}",
                        "..\\x.safetensors", "must be a relative path"),
                arguments("empty name", "{\"weight_map\": {" + w + ": \"\"}}", "", "must be a relative path"),
                arguments("bin shards", "{\"weight_map\": {" + w + ": \"pytorch_model-00001-of-00002.bin\"}}",
                        "pytorch_model-00001-of-00002.bin", "not a .safetensors file"),
                arguments("missing shard", "{\"weight_map\": {" + w + ": \"absent.safetensors\"}}",
                        "absent.safetensors", "does not exist"),
                arguments("tensor not in its shard", "{\"weight_map\": {\"nope\": " + shard0 + "}}", "nope",
                        "is mapped to shard '" + SHARDS.get(0) + "' but that shard does not hold it"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenIndexes")
    void refusesBrokenIndexes(String description, String json, String entry, String fragment) throws IOException {
        shardedCheckpoint();
        Path index = Files.writeString(dir.resolve(ShardedSafetensors.INDEX_FILE), json);

        assertThatThrownBy(() -> ShardedSafetensors.read(index, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageStartingWith(index + (entry == null ? ": " : ": '" + entry + "'"))
                .hasMessageContaining(fragment);
    }

    @Test
    void refusesShardsThatDisagreeWithTheIndex() throws IOException {
        Path index = shardedCheckpoint();
        String json = Files.readString(index);

        // blocks.0.ln1.b (the 4th tensor) lives in the first shard; map it to the second.
        Files.writeString(index, json.replace("\"blocks.0.ln1.b\":\"" + SHARDS.get(0) + "\"",
                "\"blocks.0.ln1.b\":\"" + SHARDS.get(1) + "\""));
        assertThatThrownBy(() -> ShardedSafetensors.read(index, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("'blocks.0.ln1.b': is in shard '" + SHARDS.get(0)
                        + "' too, although weight_map maps it to shard '" + SHARDS.get(1) + "'");

        // A tensor in a shard that the index does not list.
        Files.writeString(index, json.replace("\"embed.W_E\":\"" + SHARDS.get(0) + "\",", ""));
        assertThatThrownBy(() -> ShardedSafetensors.read(index, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("'embed.W_E': is in shard '" + SHARDS.get(0) + "' but not in weight_map");

        // The same tensor in two shards: the third shard gets a copy of embed.W_E.
        Files.writeString(index, json);
        Path third = dir.resolve(SHARDS.get(2));
        Map<String, NDArray> tensors = new LinkedHashMap<>(Safetensors.read(third, manager));
        tensors.put("embed.W_E", weights.get("embed.W_E"));
        Safetensors.write(third, tensors, null);
        int before = manager.getManagedArrays().size();
        assertThatThrownBy(() -> ShardedSafetensors.read(index, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("'embed.W_E': is in shard '" + SHARDS.get(2)
                        + "' too, although weight_map maps it to shard '" + SHARDS.get(0) + "'");
        assertThat(manager.getManagedArrays()).hasSize(before);
    }

    @Test
    void reportsAMalformedShardByItsOwnPath() throws IOException {
        Path index = shardedCheckpoint();
        Path lastShard = dir.resolve(SHARDS.get(2));
        byte[] bytes = Files.readAllBytes(lastShard);
        Files.write(lastShard, Arrays.copyOf(bytes, bytes.length - 4));

        assertThatThrownBy(() -> ShardedSafetensors.read(index, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageStartingWith(lastShard.toString());
    }

    @Test
    void releasesLoadedShardsWhenALaterShardFails() throws IOException {
        // The second shard's header is valid but its BOOL data is not, so the failure comes after the first
        // shard is loaded.
        Safetensors.write(dir.resolve("a.safetensors"), Map.of("a", weights.get("embed.W_E")), null);
        RawSafetensors.write(dir.resolve("b.safetensors"),
                "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[] {1, 2});
        Path index = Files.writeString(dir.resolve("two.index.json"),
                "{\"weight_map\": {\"a\": \"a.safetensors\", \"m\": \"b.safetensors\"}}");
        int before = manager.getManagedArrays().size();

        assertThatThrownBy(() -> ShardedSafetensors.read(index, manager))
                .isInstanceOf(MalformedWeightsException.class)
                .hasMessageContaining("b.safetensors: 'm': BOOL element 1 is byte 2");
        assertThat(manager.getManagedArrays()).hasSize(before);
    }
}
