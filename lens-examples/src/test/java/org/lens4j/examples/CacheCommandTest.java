package org.lens4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.testing.Fixtures;
import picocli.CommandLine;

/** {@code lens cache} writes TransformerLens's numbers as real safetensors. */
class CacheCommandTest {

    private static final String MODEL = "gpt2_style_2l";

    @TempDir
    Path dir;

    private NDManager manager;
    private Path modelDir;
    private Path tokensFile;

    @BeforeEach
    void setUp() throws IOException {
        manager = NDManager.newBaseManager();
        modelDir = Files.createDirectories(dir.resolve("model"));
        Fixtures.copy(MODEL, "model/config.json", modelDir.resolve("config.json"));
        Fixtures.copy(MODEL, "model/weights.safetensors", modelDir.resolve("weights.safetensors"));
        tokensFile = Fixtures.copy(MODEL, "inputs.safetensors", dir.resolve("inputs.safetensors"));
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private int run(StringWriter err, String... args) {
        CommandLine cli = LensCommand.commandLine();
        cli.setErr(new PrintWriter(err));
        return cli.execute(args);
    }

    private void assertMatches(Path out, String expectedFile) throws IOException {
        Map<String, NDArray> written = Safetensors.read(out, manager);
        Map<String, NDArray> expected = Fixtures.tensors(MODEL, expectedFile, manager);
        List<String> expectedNames = new ArrayList<>();
        for (String k : expected.keySet()) {
            if (k.equals("logits") || k.equals("loss_per_token") || k.startsWith("cache.")) {
                expectedNames.add(k);
            }
        }
        assertThat(written.keySet()).containsExactlyElementsOf(expectedNames);
        for (String k : expectedNames) {
            assertClose(k, written.get(k), expected.get(k), 1e-5);
        }
    }

    @Test
    void defaultProcessingWritesTheProcessedModelsActivations() throws IOException {
        Path out = dir.resolve("out.safetensors");
        int code = run(new StringWriter(), "cache", "--model", modelDir.toString(), "--tokens-file",
                tokensFile.toString(), "--out", out.toString());
        assertThat(code).isZero();
        assertMatches(out, "processed/outputs.safetensors");
        assertThat(Safetensors.metadata(out)).containsEntry("processing", "default");
    }

    @Test
    void noProcessingWritesTheRawModelsActivations() throws IOException {
        Path out = dir.resolve("raw.safetensors");
        int code = run(new StringWriter(), "cache", "--model", modelDir.toString(), "--tokens-file",
                tokensFile.toString(), "--no-processing", "--out", out.toString());
        assertThat(code).isZero();
        assertMatches(out, "outputs.safetensors");
    }

    @Test
    void inlineTokensAndSelectedHooks() throws IOException {
        Path out = dir.resolve("few.safetensors");
        int code = run(new StringWriter(), "cache", "--model", modelDir.toString(), "--tokens", "1,2,3;4,5,6",
                "--hooks", "pattern0,blocks.1.hook_resid_post", "--dtype", "float64", "--out", out.toString());
        assertThat(code).isZero();
        Map<String, NDArray> written = Safetensors.read(out, manager);
        assertThat(written.keySet()).containsExactly("logits", "loss_per_token", "cache.blocks.0.attn.hook_pattern",
                "cache.blocks.1.hook_resid_post");
        assertThat(written.get("cache.blocks.0.attn.hook_pattern").getShape().getShape()).containsExactly(2, 4, 3, 3);
        assertThat(written.get("logits").getDataType()).isEqualTo(ai.djl.ndarray.types.DataType.FLOAT64);
    }

    @Test
    void aSingleCheckpointFileWithItsConfig() throws IOException {
        Path checkpoints = Files.createDirectories(dir.resolve("checkpoints"));
        Path weights = Files.copy(modelDir.resolve("weights.safetensors"), checkpoints.resolve("step_final.safetensors"));
        Path out = dir.resolve("checkpoint.safetensors");
        int code = run(new StringWriter(), "cache", "--model", weights.toString(), "--config",
                modelDir.resolve("config.json").toString(), "--tokens-file", tokensFile.toString(), "--no-processing",
                "--out", out.toString());
        assertThat(code).isZero();
        assertMatches(out, "outputs.safetensors");

        StringWriter err = new StringWriter();
        assertThat(run(err, "cache", "--model", weights.toString(), "--tokens", "1", "--out", out.toString()))
                .isEqualTo(1);
        assertThat(err.toString()).contains("config.json").contains("--config");
    }

    @Test
    void anUnknownModelNameSuggestsRegisteredOnes() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "cache", "--model", "gpt2-smal", "--tokens", "1", "--out", dir.resolve("x").toString()))
                .isEqualTo(1);
        assertThat(err.toString()).contains("unknown model 'gpt2-smal'").contains("gpt2-small");
    }

    @Test
    void badInputsEndWithOneClearLine() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "cache", "--model", modelDir.toString(), "--tokens", "1,2,300", "--out",
                dir.resolve("x").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("token id 300").contains("d_vocab = 100");
        StringWriter err2 = new StringWriter();
        assertThat(run(err2, "cache", "--model", modelDir.toString(), "--tokens", "1,2;3", "--out",
                dir.resolve("x").toString())).isEqualTo(1);
        assertThat(err2.toString()).contains("same length");
        StringWriter err3 = new StringWriter();
        assertThat(run(err3, "cache", "--model", modelDir.toString(), "--tokens", "1", "--hooks", "resid_post",
                "--out", dir.resolve("x").toString())).isEqualTo(1);
        assertThat(err3.toString()).contains("no hook point 'resid_post'").contains("hook_resid_post");
        assertThat(Files.exists(dir.resolve("x"))).isFalse();
    }
}
