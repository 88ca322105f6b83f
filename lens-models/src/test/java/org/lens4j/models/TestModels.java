package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.PositionalEmbeddingType;
import org.lens4j.core.Output;
import org.lens4j.core.ReturnType;
import org.lens4j.core.testing.Fixtures;
import org.lens4j.models.io.TorchSave;

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

    /**
     * Writes a TransformerLens fixture model the way Neel Nanda's hub repos hold theirs: a training
     * {@code config.json} (TransformerLens shape keys, {@code normalization}, {@code shortformer_pos} and
     * training settings) and {@code model_final.pth}, a torch.save state dict with the attention buffers
     * {@code mask} and {@code IGNORE}. With {@code oldSolu} the weights get the old SoLU names and orientation.
     *
     * @return the directory's files by name
     */
    static Map<String, Path> writeNeelRepo(String fixture, Path dir, boolean oldSolu, NDManager m) throws IOException {
        Files.createDirectories(dir);
        HookedTransformerConfig tl = Fixtures.config(fixture, "model/config.json");
        JsonObject c = new JsonObject();
        c.addProperty("n_layers", tl.nLayers());
        c.addProperty("d_model", tl.dModel());
        c.addProperty("d_mlp", tl.attnOnly() ? 4 * tl.dModel() : tl.dMlp());
        c.addProperty("d_head", tl.dHead());
        c.addProperty("n_heads", tl.nHeads());
        c.addProperty("n_ctx", tl.nCtx());
        c.addProperty("d_vocab", tl.dVocab());
        c.addProperty("act_fn", tl.attnOnly() ? "solu_ln" : tl.actFn());
        c.addProperty("attn_only", tl.attnOnly());
        c.addProperty("normalization", tl.normalizationType().tlName());
        c.addProperty("shortformer_pos", tl.positionalEmbeddingType() == PositionalEmbeddingType.SHORTFORMER);
        c.addProperty("tokenizer_name", "NeelNanda/gpt-neox-tokenizer-digits");
        c.addProperty("lr_hidden", 0.002);
        c.addProperty("batch_size_per_device", 32);
        c.addProperty("ln_eps", 1e-5);
        Path config = dir.resolve("config.json");
        Files.writeString(config, c.toString(), StandardCharsets.UTF_8);

        Map<String, NDArray> weights = new LinkedHashMap<>(Fixtures.tensors(fixture, "model/weights.safetensors", m));
        int n = tl.nCtx();
        boolean[] tril = new boolean[n * n];
        for (int q = 0; q < n; q++) {
            for (int k = 0; k <= q; k++) {
                tril[q * n + k] = true;
            }
        }
        for (int l = 0; l < tl.nLayers(); l++) {
            weights.put("blocks." + l + ".attn.mask", m.create(tril, new Shape(n, n)));
            weights.put("blocks." + l + ".attn.IGNORE", m.create(Float.NEGATIVE_INFINITY));
        }
        if (oldSolu) {
            weights = NeelConverterTest.toOldSolu(weights, tl.nLayers());
        }
        Path checkpoint = TorchSave.write(dir.resolve("model_final.pth"), weights);
        return Map.of("config.json", config, "model_final.pth", checkpoint);
    }
}
