package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.testing.Fixtures;
import org.lens4j.models.hub.FakeHub;
import org.lens4j.models.hub.HubException;

/**
 * End to end through the hub: {@code HookedTransformer.fromPretrained(name)} with HF_ENDPOINT pointed at a
 * hub on 127.0.0.1 that serves fixture models in the hub's URL layout, and a temporary HF_HOME. The hub
 * settings are given as system properties, which the loader reads over the environment.
 */
class HubLoadingTest {

    private static final List<String> PROPERTIES = List.of("HF_ENDPOINT", "HF_HOME", "HF_HUB_OFFLINE");

    @TempDir
    Path tmp;

    private FakeHub hub;
    private NDManager manager;
    private final Map<String, String> saved = new HashMap<>();

    @BeforeEach
    void start() throws IOException {
        manager = NDManager.newBaseManager();
        hub = new FakeHub();
        for (String p : PROPERTIES) {
            saved.put(p, System.getProperty(p));
        }
        System.setProperty("HF_ENDPOINT", hub.endpoint());
        System.setProperty("HF_HOME", tmp.resolve("hf").toString());
        System.clearProperty("HF_HUB_OFFLINE");
    }

    @AfterEach
    void stop() {
        for (String p : PROPERTIES) {
            if (saved.get(p) == null) {
                System.clearProperty(p);
            } else {
                System.setProperty(p, saved.get(p));
            }
        }
        hub.close();
        manager.close();
    }

    private void serve(String repo, Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                hub.add(repo, name, Files.readAllBytes(f), !name.endsWith(".json"));
            }
        }
    }

    private void serveTokenizer(String repo, String resourceDir) throws IOException {
        Path dir = tmp.resolve("tok-" + repo.replace('/', '-'));
        TestModels.copyResource(resourceDir + "tokenizer.json", dir.resolve("tokenizer.json"));
        TestModels.copyResource(resourceDir + "tokenizer_config.json", dir.resolve("tokenizer_config.json"));
        serve(repo, dir);
    }

    @Test
    void aHubRepoLoadsAndThenLoadsOfflineFromTheCache() throws IOException {
        serve("lens4j-test/tiny-gpt2", TestModels.hfGpt2Dir(tmp.resolve("repo")));

        try (HookedTransformer model = HookedTransformer.fromPretrained("lens4j-test/tiny-gpt2")) {
            assertThat(model.config().modelName()).isEqualTo("tiny-gpt2");
            TestModels.assertMatchesOutputs(model, "hf_gpt2_tiny", "processed/outputs.safetensors", 1e-5);
        }
        assertThat(hub.requestCount()).isPositive();
        assertThat(tmp.resolve("hf/hub/models--lens4j-test--tiny-gpt2/snapshots/" + FakeHub.COMMIT + "/model.safetensors"))
                .isRegularFile();

        hub.clearRequests();
        System.setProperty("HF_HUB_OFFLINE", "1");
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing("lens4j-test/tiny-gpt2")) {
            TestModels.assertMatchesOutputs(model, "hf_gpt2_tiny", "outputs.safetensors", 1e-5);
        }
        assertThat(hub.requestCount()).as("offline: no request").isZero();
    }

    @Test
    void aRegistryNameLoadsANeelModelWithTheTokenizerOfItsTokenizerRepo() throws IOException {
        Path repo = tmp.resolve("solu-1l");
        TestModels.writeNeelRepo("solu_ln_1l", repo, false, manager);
        serve("NeelNanda/SoLU_1L512W_C4_Code", repo);
        hub.add("NeelNanda/SoLU_1L512W_C4_Code", "checkpoints/SoLU_1L512W_C4_Code_1000.pth",
                Files.readAllBytes(repo.resolve("model_final.pth")), true);
        serveTokenizer("NeelNanda/gpt-neox-tokenizer-digits", "/tokenizers/ints-special/");

        try (HookedTransformer model = HookedTransformer.fromPretrained("SoLU-1L")) {
            assertThat(model.config().modelName()).isEqualTo("SoLU_1L512W_C4_Code");
            TestModels.assertMatchesOutputs(model, "solu_ln_1l", "processed/outputs.safetensors", 1e-5);
            assertThat(model.tokenizer().bosTokenId()).isEqualTo(100);
            assertThat(model.tokenizer().toTokens("5 6", true)).containsExactly(100, 5, 6);
        }
        assertThat(hub.requests()).noneMatch(r -> r.path().contains("checkpoints/"));
    }

    @Test
    void anOldSoluAliasConvertsItsCheckpoint() throws IOException {
        Path repo = tmp.resolve("solu-1l-old");
        TestModels.writeNeelRepo("solu_ln_1l", repo, true, manager);
        serve("NeelNanda/SoLU_1L_v9_old", repo);
        serveTokenizer("NeelNanda/gpt-neox-tokenizer-digits", "/tokenizers/ints-special/");

        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing("solu-1l-old")) {
            assertThat(model.config().originalArchitecture()).isEqualTo("neel-solu-old");
            TestModels.assertMatchesOutputs(model, "solu_ln_1l", "outputs.safetensors", 1e-5);
        }
    }

    /** A GPT-2 with GPT-2's vocabulary but one tiny layer, in Hugging Face's layout (no "transformer." prefix). */
    private Path tinyGpt2WithGpt2Vocabulary() throws IOException {
        int d = 8;
        Map<String, NDArray> w = new LinkedHashMap<>();
        w.put("wte.weight", manager.randomNormal(new Shape(50257, d)));
        w.put("wpe.weight", manager.randomNormal(new Shape(16, d)));
        w.put("h.0.ln_1.weight", manager.ones(new Shape(d)));
        w.put("h.0.ln_1.bias", manager.zeros(new Shape(d)));
        w.put("h.0.attn.bias", manager.ones(new Shape(1, 1, 16, 16)));
        w.put("h.0.attn.c_attn.weight", manager.randomNormal(new Shape(d, 3 * d)));
        w.put("h.0.attn.c_attn.bias", manager.randomNormal(new Shape(3 * d)));
        w.put("h.0.attn.c_proj.weight", manager.randomNormal(new Shape(d, d)));
        w.put("h.0.attn.c_proj.bias", manager.randomNormal(new Shape(d)));
        w.put("h.0.ln_2.weight", manager.ones(new Shape(d)));
        w.put("h.0.ln_2.bias", manager.zeros(new Shape(d)));
        w.put("h.0.mlp.c_fc.weight", manager.randomNormal(new Shape(d, 4 * d)));
        w.put("h.0.mlp.c_fc.bias", manager.randomNormal(new Shape(4 * d)));
        w.put("h.0.mlp.c_proj.weight", manager.randomNormal(new Shape(4 * d, d)));
        w.put("h.0.mlp.c_proj.bias", manager.randomNormal(new Shape(d)));
        w.put("ln_f.weight", manager.ones(new Shape(d)));
        w.put("ln_f.bias", manager.zeros(new Shape(d)));
        Path dir = Files.createDirectories(tmp.resolve("gpt2"));
        Safetensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        JsonObject c = new JsonObject();
        c.addProperty("model_type", "gpt2");
        c.addProperty("n_embd", d);
        c.addProperty("n_head", 2);
        c.addProperty("n_layer", 1);
        c.addProperty("n_ctx", 16);
        c.addProperty("n_positions", 16);
        c.addProperty("vocab_size", 50257);
        Files.writeString(dir.resolve("config.json"), c.toString(), StandardCharsets.UTF_8);
        return dir;
    }

    @Test
    void gpt2FallsBackToTheBundledTokenizerAndLoadsOfflineOnceCached() throws IOException {
        Path repo = tinyGpt2WithGpt2Vocabulary();
        serve("gpt2", repo); // config.json and model.safetensors only: the hub has no tokenizer.json here

        try (HookedTransformer model = HookedTransformer.fromPretrained("gpt2-small")) {
            assertThat(model.config().modelName()).isEqualTo("gpt2");
            assertThat(model.tokenizer().toTokens("Hello world", true)).containsExactly(50256, 15496, 995);
        }
        assertThat(hub.requests()).as("the registry names the weights file: no listing needed")
                .noneMatch(r -> r.path().startsWith("/api/"));

        hub.clearRequests();
        System.setProperty("HF_HUB_OFFLINE", "1");
        try (HookedTransformer offline = HookedTransformer.fromPretrainedNoProcessing("gpt2");
             HookedTransformer local = HookedTransformer.fromPretrainedNoProcessing(repo)) {
            HfGpt2LoadingTest.assertIdenticalParameters(offline, local);
            assertThat(offline.tokenizer().toTokens("Hello world", false)).containsExactly(15496, 995);
        }
        assertThat(hub.requestCount()).isZero();
    }

    @Test
    void localDirectoriesNeverTouchTheHub() throws IOException {
        try (HookedTransformer gpt2 = HookedTransformer.fromPretrained(tinyGpt2WithGpt2Vocabulary().toString());
             HookedTransformer tiny = HookedTransformer.fromPretrained(TestModels.hfGpt2Dir(tmp.resolve("tiny")))) {
            assertThat(gpt2.tokenizer().toTokens("Hello world", false)).containsExactly(15496, 995);
            assertThat(tiny.config().dVocab()).isEqualTo(100);
        }
        assertThat(hub.requestCount()).isZero();
        assertThat(tmp.resolve("hf")).doesNotExist();
    }

    @Test
    void aShardedRepoDownloadsEveryShard() throws IOException {
        Path repo = Files.createDirectories(tmp.resolve("sharded"));
        Fixtures.copy("hf_gpt2_tiny", "model/config.json", repo.resolve("config.json"));
        HfGpt2LoadingTest.writeShards(repo, Fixtures.tensors("hf_gpt2_tiny", "model/model.safetensors", manager));
        serve("lens4j-test/sharded", repo);

        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing("lens4j-test/sharded")) {
            TestModels.assertMatchesOutputs(model, "hf_gpt2_tiny", "outputs.safetensors", 1e-5);
        }
    }

    @Test
    void theRevisionIsAskedFor() throws IOException {
        serve("lens4j-test/tiny-gpt2", TestModels.hfGpt2Dir(tmp.resolve("repo")));

        try (HookedTransformer model = HookedTransformer.fromPretrained("lens4j-test/tiny-gpt2",
                LoadOptions.noProcessing().withRevision(FakeHub.COMMIT))) {
            assertThat(model.config().nLayers()).isEqualTo(2);
        }
        assertThat(hub.requests()).anyMatch(r -> r.path().equals("/lens4j-test/tiny-gpt2/resolve/" + FakeHub.COMMIT + "/model.safetensors"));
        assertThat(hub.requests()).noneMatch(r -> r.path().contains("/resolve/main/"));
    }

    @Test
    void aRepoThatIsNotThereIsNamed() {
        assertThatThrownBy(() -> HookedTransformer.fromPretrained("lens4j-test/missing"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'lens4j-test/missing' is not a local path, not a registered model name")
                .hasMessageContaining("config.json");
    }

    @Test
    void offlineWithoutTheFilesCachedNamesWhatIsMissing() {
        System.setProperty("HF_HUB_OFFLINE", "1");
        assertThatThrownBy(() -> HookedTransformer.fromPretrained("attn-only-1l"))
                .isInstanceOfSatisfying(HubException.class,
                        e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_CACHED))
                .hasMessageContaining("NeelNanda/Attn_Only_1L512W_C4_Code")
                .hasMessageContaining("config.json");
        assertThat(hub.requestCount()).isZero();
    }
}
