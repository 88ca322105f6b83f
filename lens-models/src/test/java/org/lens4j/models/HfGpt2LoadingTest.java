package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;
import org.lens4j.core.ProcessingOptions;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.testing.Fixtures;
import org.lens4j.models.io.TorchSave;

/**
 * A Hugging Face GPT-2 directory loaded through {@code HookedTransformer.fromPretrained}: TransformerLens
 * 2.12's {@code from_pretrained} (processed) and {@code from_pretrained_no_processing} outputs of the same
 * weights, from model.safetensors, pytorch_model.bin and sharded safetensors alike.
 */
class HfGpt2LoadingTest {

    private static final String FIXTURE = "hf_gpt2_tiny";

    @TempDir
    Path tmp;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void processedLoadMatchesTransformerLensFromPretrained() throws IOException {
        try (HookedTransformer model = HookedTransformer.fromPretrained(TestModels.hfGpt2Dir(tmp.resolve("gpt2")))) {
            assertThat(model.config().normalizationType().tlName()).isEqualTo("LNPre");
            assertThat(model.config().modelName()).isEqualTo("gpt2");
            TestModels.assertMatchesOutputs(model, FIXTURE, "processed/outputs.safetensors", 1e-5);
        }
    }

    @Test
    void unprocessedLoadMatchesTransformerLensFromPretrainedNoProcessing() throws IOException {
        try (HookedTransformer model =
                HookedTransformer.fromPretrainedNoProcessing(TestModels.hfGpt2Dir(tmp.resolve("gpt2")))) {
            TestModels.assertMatchesOutputs(model, FIXTURE, "outputs.safetensors", 1e-5);
        }
    }

    @Test
    void float64LoadMatchesTransformerLensInFloat64() throws IOException {
        LoadOptions options = LoadOptions.noProcessing().withDtype(DataType.FLOAT64);
        try (HookedTransformer model = HookedTransformer.fromPretrained(TestModels.hfGpt2Dir(tmp.resolve("gpt2")), options)) {
            assertThat(model.parameter("blocks.0.attn.W_Q").getDataType()).isEqualTo(DataType.FLOAT64);
            TestModels.assertMatchesOutputs(model, FIXTURE, "outputs_f64.safetensors", 1e-9);
        }
    }

    @Test
    void theSameWeightsAsPytorchModelBinLoadIdentically() throws IOException {
        Path binDir = Files.createDirectories(tmp.resolve("bin"));
        Fixtures.copy(FIXTURE, "model/config.json", binDir.resolve("config.json"));
        TorchSave.write(binDir.resolve("pytorch_model.bin"), Fixtures.tensors(FIXTURE, "model/model.safetensors", manager));

        try (HookedTransformer fromBin = HookedTransformer.fromPretrained(binDir);
             HookedTransformer fromSafetensors = HookedTransformer.fromPretrained(TestModels.hfGpt2Dir(tmp.resolve("st")))) {
            assertIdenticalParameters(fromBin, fromSafetensors);
            TestModels.assertMatchesOutputs(fromBin, FIXTURE, "processed/outputs.safetensors", 1e-5);
        }
    }

    @Test
    void shardedSafetensorsLoadIdentically() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        Fixtures.copy(FIXTURE, "model/config.json", dir.resolve("config.json"));
        writeShards(dir, Fixtures.tensors(FIXTURE, "model/model.safetensors", manager));

        try (HookedTransformer sharded = HookedTransformer.fromPretrainedNoProcessing(dir);
             HookedTransformer single = HookedTransformer.fromPretrainedNoProcessing(TestModels.hfGpt2Dir(tmp.resolve("st")))) {
            assertIdenticalParameters(sharded, single);
        }
    }

    /** Writes the tensors as two shards plus model.safetensors.index.json, as save_pretrained does. */
    static void writeShards(Path dir, Map<String, NDArray> tensors) throws IOException {
        Map<String, NDArray> first = new LinkedHashMap<>();
        Map<String, NDArray> second = new LinkedHashMap<>();
        JsonObject weightMap = new JsonObject();
        int i = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            boolean inFirst = i++ < tensors.size() / 2;
            (inFirst ? first : second).put(e.getKey(), e.getValue());
            weightMap.addProperty(e.getKey(), inFirst ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        Safetensors.write(dir.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
        Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
        JsonObject index = new JsonObject();
        index.add("metadata", new JsonObject());
        index.add("weight_map", weightMap);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString(), StandardCharsets.UTF_8);
    }

    /** Same parameter names, shapes and float bits (Arrays.equals: AssertJ's element-wise check is slow on big arrays). */
    static void assertIdenticalParameters(HookedTransformer actual, HookedTransformer expected) {
        assertThat(actual.stateDict().keySet()).containsExactlyElementsOf(expected.stateDict().keySet());
        for (Map.Entry<String, NDArray> e : expected.stateDict().entrySet()) {
            NDArray a = actual.stateDict().get(e.getKey());
            assertThat(a.getShape()).as(e.getKey()).isEqualTo(e.getValue().getShape());
            assertThat(Arrays.equals(a.toFloatArray(), e.getValue().toFloatArray())).as(e.getKey() + " identical").isTrue();
        }
    }

    @Test
    void aTokenizerJsonInTheDirectoryIsAttachedAndAModelWithoutOneHasNone() throws IOException {
        Path dir = TestModels.hfGpt2Dir(tmp.resolve("gpt2"));
        try (HookedTransformer model = HookedTransformer.fromPretrained(dir)) {
            assertThat(model.tokenizer()).as("vocabulary 100 is not GPT-2's: no fallback").isNull();
        }
        TestModels.copyResource("/tokenizers/ints/tokenizer.json", dir.resolve("tokenizer.json"));
        try (HookedTransformer model = HookedTransformer.fromPretrained(dir)) {
            assertThat(model.tokenizer().toTokens("7 42", false)).containsExactly(7, 42);
        }
    }

    @Test
    void eachProcessingFlagIsHonoured() throws IOException {
        LoadOptions foldOnly = LoadOptions.defaults().withProcessing(ProcessingOptions.NONE.withFoldLn(true));
        try (HookedTransformer model = HookedTransformer.fromPretrained(TestModels.hfGpt2Dir(tmp.resolve("gpt2")), foldOnly)) {
            assertThat(model.config().normalizationType().tlName()).isEqualTo("LNPre");
            assertThat(model.stateDict()).doesNotContainKey("blocks.0.ln1.w");
            // Without the centring steps the logits are the unprocessed ones: folding alone changes no output.
            NDArray tokens = Fixtures.tensors(FIXTURE, "inputs.safetensors", manager).get("tokens");
            NDArray expected = Fixtures.tensors(FIXTURE, "outputs.safetensors", manager).get("logits");
            assertClose("fold_ln-only logits", model.forward(tokens), expected, 1e-5);
        }
    }

    @Test
    void theTiedUnembeddingGetsItsOwnStorage() throws IOException {
        for (LoadOptions options : new LoadOptions[] {LoadOptions.noProcessing(), LoadOptions.defaults()}) {
            try (HookedTransformer model = HookedTransformer.fromPretrained(TestModels.hfGpt2Dir(tmp.resolve(
                    "gpt2-" + options.processing().foldLn())), options)) {
                float[] before = model.W_U().toFloatArray();
                model.W_E().set(new ai.djl.ndarray.index.NDIndex("0, 0"), 123f);
                assertThat(Arrays.equals(model.W_U().toFloatArray(), before)).as("W_U unchanged").isTrue();
            }
        }
    }

    @Test
    void aDirectoryWithoutWeightsNamesWhatItLooksFor() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        Fixtures.copy(FIXTURE, "model/config.json", dir.resolve("config.json"));

        assertThatThrownBy(() -> HookedTransformer.fromPretrained(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("pytorch_model.bin")
                .hasMessageContaining(dir.toAbsolutePath().toString());
    }

    @Test
    void weightsThatDoNotFitTheConfigNameTheFileAndTensor() throws IOException {
        Path dir = TestModels.hfGpt2Dir(tmp.resolve("gpt2"));
        String config = Files.readString(dir.resolve("config.json")).replace("\"n_layer\": 2", "\"n_layer\": 3");
        Files.writeString(dir.resolve("config.json"), config);

        assertThatThrownBy(() -> HookedTransformer.fromPretrained(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("'h.2.ln_1.weight'");
    }
}
