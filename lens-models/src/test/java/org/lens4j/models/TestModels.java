package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.Output;
import org.lens4j.core.ReturnType;
import org.lens4j.core.testing.Fixtures;

/** Shared test helpers: fixture files and the comparison of a loaded model with TransformerLens's outputs. */
final class TestModels {

    private TestModels() {}

    /** A fixture file's text (fixtures sit in lens-core's test jar). */
    static String fixtureText(String model, String file) {
        try (InputStream in = TestModels.class.getResourceAsStream("/fixtures/tl-2.12/" + model + "/" + file)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + model + "/" + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies a class-path resource (of this module or lens-core's test jar) to a file. */
    static Path copyResource(String name, Path target) throws IOException {
        try (InputStream in = TestModels.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalArgumentException("no test resource " + name);
            }
            Files.createDirectories(target.toAbsolutePath().getParent());
            Files.copy(in, target);
            return target;
        }
    }

    /** A directory holding the tiny Hugging Face GPT-2 fixture: config.json and model.safetensors. */
    static Path hfGpt2Dir(Path dir) throws IOException {
        Files.createDirectories(dir);
        Fixtures.copy("hf_gpt2_tiny", "model/config.json", dir.resolve("config.json"));
        Fixtures.copy("hf_gpt2_tiny", "model/model.safetensors", dir.resolve("model.safetensors"));
        return dir;
    }

    /**
     * Runs the fixture's input tokens through the model and compares logits, loss, per-token loss and every
     * cached activation with a TransformerLens outputs file.
     */
    static void assertMatchesOutputs(HookedTransformer model, String fixture, String outputsFile, double atol) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray tokens = Fixtures.tensors(fixture, "inputs.safetensors", m).get("tokens");
            Map<String, NDArray> expected = Fixtures.tensors(fixture, outputsFile, m);
            CacheOptions options = CacheOptions.all()
                    .withForward(ForwardOptions.builder().returnType(ReturnType.BOTH).build());
            try (CachedRun run = model.runWithCache(tokens, options)) {
                assertClose(fixture + " logits", run.logits(), expected.get("logits"), atol);
                assertClose(fixture + " loss", run.output().loss(), expected.get("loss"), atol);
                List<String> cacheKeys = new ArrayList<>();
                for (String key : expected.keySet()) {
                    if (key.startsWith("cache.")) {
                        cacheKeys.add(key.substring("cache.".length()));
                    }
                }
                assertThat(run.cache().keys()).containsExactlyElementsOf(cacheKeys);
                for (String key : cacheKeys) {
                    assertClose(fixture + " " + key, run.cache().get(key), expected.get("cache." + key), atol);
                }
            }
            try (Output out = model.run(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS)
                    .lossPerToken(true).build())) {
                assertClose(fixture + " loss_per_token", out.loss(), expected.get("loss_per_token"), atol);
            }
        }
    }
}
