package org.lens4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.LoadOptions;
import org.lens4j.core.PretrainedLoader;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.tokens.Tokenizer;

/**
 * The {@link PretrainedLoader} behind {@link HookedTransformer#fromPretrained}: loads a TransformerLens
 * directory ({@code config.json} with TransformerLens keys plus {@code weights.safetensors} with
 * TransformerLens parameter names, and optionally {@code tokenizer.json}).
 */
public final class ModelLoader implements PretrainedLoader {

    @Override
    public HookedTransformer load(String nameOrPath, LoadOptions options) throws IOException {
        Path dir = Path.of(nameOrPath);
        if (!Files.isDirectory(dir)) {
            throw new IOException("no model directory " + dir.toAbsolutePath());
        }
        return loadTransformerLensDirectory(dir, options);
    }

    /** Loads {@code config.json} + {@code weights.safetensors} (+ {@code tokenizer.json}) from a directory. */
    static HookedTransformer loadTransformerLensDirectory(Path dir, LoadOptions options) throws IOException {
        Path config = dir.resolve("config.json");
        Path weights = dir.resolve("weights.safetensors");
        for (Path p : new Path[] {config, weights}) {
            if (!Files.isRegularFile(p)) {
                throw new IOException("model directory " + dir + " has no " + p.getFileName());
            }
        }
        HookedTransformerConfig cfg = HookedTransformerConfig.fromJsonFile(config).toBuilder()
                .dtype(options.dtype()).build();
        HookedTransformer model;
        try (NDManager manager = NDManager.newBaseManager()) {
            LinkedHashMap<String, NDArray> stateDict = Safetensors.read(weights, manager);
            model = HookedTransformer.fromStateDict(cfg, stateDict, options.processing());
        }
        Path tokenizer = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(tokenizer)) {
            model.setTokenizer(Tokenizer.fromFile(tokenizer));
        }
        return model;
    }
}
