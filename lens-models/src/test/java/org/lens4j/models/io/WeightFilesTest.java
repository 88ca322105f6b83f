package org.lens4j.models.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.core.io.Safetensors;

class WeightFilesTest {

    @TempDir
    Path dir;

    private NDManager manager;
    private LinkedHashMap<String, NDArray> reference;

    @BeforeEach
    void loadReference() throws IOException {
        manager = NDManager.newBaseManager();
        reference = Safetensors.read(TorchCheckpointTest.resource("arena_brackets_3l_weights.safetensors"), manager);
    }

    @AfterEach
    void closeManager() {
        manager.close();
    }

    private void assertSameWeights(Map<String, NDArray> read) {
        assertThat(read.keySet()).containsAll(reference.keySet());
        reference.forEach((name, expected) -> assertThat(TorchCheckpointTest.bytesOf(read.get(name)))
                .as(name).isEqualTo(TorchCheckpointTest.bytesOf(expected)));
    }

    @Test
    void picksTheReaderByExtension() throws IOException {
        Path checkpoint = TorchCheckpointTest.resource("arena_brackets_3l_state_dict.pt");
        for (String name : new String[] {"weights.pt", "weights.pth", "pytorch_model.bin"}) {
            Path copy = Files.copy(checkpoint, dir.resolve(name));
            assertSameWeights(WeightFiles.readAny(copy, manager));
        }
        Path safetensors = dir.resolve("model.safetensors");
        Safetensors.write(safetensors, reference, null);
        assertSameWeights(WeightFiles.readAny(safetensors, manager));

        JsonObject weightMap = new JsonObject();
        reference.keySet().forEach(name -> weightMap.addProperty(name, "model.safetensors"));
        JsonObject json = new JsonObject();
        json.add("weight_map", weightMap);
        Path index = Files.writeString(dir.resolve("model.safetensors.index.json"), json.toString());
        assertSameWeights(WeightFiles.readAny(index, manager));
    }

    @Test
    void readsTheBestFileOfADirectory() throws IOException {
        Files.copy(TorchCheckpointTest.resource("arena_brackets_3l_state_dict.pt"), dir.resolve("pytorch_model.bin"));
        assertThat(WeightFiles.readAny(dir, manager)).hasSize(60);

        // A snapshot with both formats: safetensors wins over the pickle-based checkpoint.
        Safetensors.write(dir.resolve("model.safetensors"), reference, null);
        assertThat(WeightFiles.readAny(dir, manager)).hasSize(54);
    }

    @Test
    void refusesUnknownNamesAndEmptyDirectories() throws IOException {
        Path unknown = Files.writeString(dir.resolve("weights.h5"), "x");
        assertThatThrownBy(() -> WeightFiles.readAny(unknown, manager))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("weights.h5: unknown weight file type");

        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThatThrownBy(() -> WeightFiles.readAny(empty, manager))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("model.safetensors.index.json");
    }
}
