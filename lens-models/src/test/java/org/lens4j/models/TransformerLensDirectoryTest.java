package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.testing.Fixtures;

/**
 * Local directories of TransformerLens-format models: TransformerLens's own config + weights, and Neel
 * Nanda's layout (training config + model_final.pth, new and old SoLU), against TransformerLens's outputs.
 */
class TransformerLensDirectoryTest {

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
    void transformerLensConfigAndWeightsLoadProcessedAndUnprocessed() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("gpt2_style_2l"));
        Fixtures.copy("gpt2_style_2l", "model/config.json", dir.resolve("config.json"));
        Fixtures.copy("gpt2_style_2l", "model/weights.safetensors", dir.resolve("weights.safetensors"));

        try (HookedTransformer model = HookedTransformer.fromPretrained(dir.toString())) {
            TestModels.assertMatchesOutputs(model, "gpt2_style_2l", "processed/outputs.safetensors", 1e-5);
        }
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir)) {
            TestModels.assertMatchesOutputs(model, "gpt2_style_2l", "outputs.safetensors", 1e-5);
            assertThat(model.tokenizer()).isNull();
        }
    }

    @Test
    void neelStyleRepoLoadsWithItsBuffersIgnored() throws IOException {
        Path dir = tmp.resolve("SoLU_1L512W_C4_Code");
        TestModels.writeNeelRepo("solu_ln_1l", dir, false, manager);

        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir)) {
            assertThat(model.config().originalArchitecture()).isEqualTo("neel");
            assertThat(model.config().modelName()).isEqualTo("SoLU_1L512W_C4_Code");
            TestModels.assertMatchesOutputs(model, "solu_ln_1l", "outputs.safetensors", 1e-5);
        }
        try (HookedTransformer model = HookedTransformer.fromPretrained(dir)) {
            TestModels.assertMatchesOutputs(model, "solu_ln_1l", "processed/outputs.safetensors", 1e-5);
        }
    }

    @Test
    void oldSoluCheckpointIsRenamedAndTransposed() throws IOException {
        Path dir = tmp.resolve("SoLU_1L_v9_old");
        TestModels.writeNeelRepo("solu_ln_1l", dir, true, manager);

        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir)) {
            assertThat(model.config().originalArchitecture()).isEqualTo("neel-solu-old");
            TestModels.assertMatchesOutputs(model, "solu_ln_1l", "outputs.safetensors", 1e-5);
        }
    }

    @Test
    void shortformerNeelModelGetsOnlyValueBiasFolding() throws IOException {
        Path dir = tmp.resolve("Attn-Only-2L512W-Shortformer-6B-big-lr");
        TestModels.writeNeelRepo("attn_only_2l_shortformer", dir, false, manager);

        try (HookedTransformer model = HookedTransformer.fromPretrained(dir)) {
            assertThat(model.config().normalizationType()).as("shortformer: fold_ln is refused").isEqualTo(NormalizationType.LN);
            TestModels.assertMatchesOutputs(model, "attn_only_2l_shortformer", "processed/outputs.safetensors", 1e-5);
        }
    }

    /** The old LNPre SoLU models: their files hold LN weights, folded when processing and ignored otherwise. */
    @Test
    void normWeightsOfAPreNormModelAreFoldedOrIgnored() throws IOException {
        Path dir = tmp.resolve("SoLU_1L_lnpre");
        TestModels.writeNeelRepo("solu_ln_1l", dir, false, manager);
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"normalization\":\"LN\"", "\"normalization\":\"LNPre\""));

        try (HookedTransformer model = HookedTransformer.fromPretrained(dir)) {
            TestModels.assertMatchesOutputs(model, "solu_ln_1l", "processed/outputs.safetensors", 1e-5);
        }
        Map<String, NDArray> withoutNorms = new LinkedHashMap<>(Fixtures.tensors("solu_ln_1l", "model/weights.safetensors", manager));
        withoutNorms.keySet().removeIf(k -> k.contains("ln"));
        HookedTransformerConfig lnPre = Fixtures.config("solu_ln_1l", "model/config.json").toBuilder()
                .normalizationType(NormalizationType.LN_PRE).build();
        NDArray tokens = Fixtures.tensors("solu_ln_1l", "inputs.safetensors", manager).get("tokens");
        try (HookedTransformer loaded = HookedTransformer.fromPretrainedNoProcessing(dir);
             HookedTransformer expected = HookedTransformer.fromStateDict(lnPre, withoutNorms)) {
            assertThat(loaded.stateDict()).doesNotContainKeys("blocks.0.ln1.w", "blocks.0.mlp.ln.b", "ln_final.w");
            assertClose("logits", loaded.forward(tokens), expected.forward(tokens), 0);
        }
    }

    @Test
    void aCheckpointFileWithItsConfigNextToItLoads() throws IOException {
        Path dir = tmp.resolve("run");
        TestModels.writeNeelRepo("solu_ln_1l", dir, false, manager);

        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir.resolve("model_final.pth"))) {
            TestModels.assertMatchesOutputs(model, "solu_ln_1l", "outputs.safetensors", 1e-5);
        }
    }

    @Test
    void aSnapshotInAHuggingFaceCacheIsNamedAfterItsRepo() {
        Path snapshot = tmp.resolve("hub/models--NeelNanda--SoLU_1L_v9_old/snapshots/4f1c9e0a7b2d3c5e6f708192a3b4c5d6e7f80912");
        assertThat(ModelLoader.localName(snapshot)).isEqualTo("NeelNanda/SoLU_1L_v9_old");
        assertThat(ModelLoader.localName(tmp.resolve("backup_old/gelu-1l"))).isEqualTo("gelu-1l");
    }

    @Test
    void severalCandidateWeightFilesAreAnErrorNamingThem() throws IOException {
        Path dir = tmp.resolve("run");
        TestModels.writeNeelRepo("solu_ln_1l", dir, false, manager);
        Files.move(dir.resolve("model_final.pth"), dir.resolve("step_100.pth"));
        Files.copy(dir.resolve("step_100.pth"), dir.resolve("step_200.pth"));

        assertThatThrownBy(() -> HookedTransformer.fromPretrained(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[step_100.pth, step_200.pth]")
                .hasMessageContaining("pass the checkpoint file itself");
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(dir.resolve("step_200.pth"))) {
            assertThat(model.config().nLayers()).isEqualTo(1);
        }
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> HookedTransformer.fromPretrained(empty))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(empty.resolve("config.json").toString());

        Path lone = Files.createDirectories(tmp.resolve("lone"));
        TestModels.writeNeelRepo("solu_ln_1l", lone, false, manager);
        Files.delete(lone.resolve("config.json"));
        assertThatThrownBy(() -> HookedTransformer.fromPretrained(lone.resolve("model_final.pth")))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("config.json")
                .hasMessageContaining("--config");

        assertThatThrownBy(() -> HookedTransformer.fromPretrained(tmp.resolve("nowhere")))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("nowhere");
    }

    @Test
    void anUnknownNameIsNeitherLoadedNorLookedUp() {
        assertThatThrownBy(() -> HookedTransformer.fromPretrained("attn-only-2"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown model 'attn-only-2'")
                .hasMessageContaining("attn-only-2l");
    }

    @Test
    void aConfigThatIsNotJsonNamesTheFile() throws IOException {
        Path dir = tmp.resolve("broken");
        TestModels.writeNeelRepo("solu_ln_1l", dir, false, manager);
        Files.writeString(dir.resolve("config.json"), "{\"d_model\": 64,");

        assertThatThrownBy(() -> HookedTransformer.fromPretrained(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(dir.resolve("config.json").toString())
                .hasMessageContaining("not valid JSON");
    }
}
