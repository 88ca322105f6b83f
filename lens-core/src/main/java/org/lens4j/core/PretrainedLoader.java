package org.lens4j.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Finds and loads pretrained models for {@link HookedTransformer#fromPretrained}. lens-core knows no
 * weight sources itself; {@code lens-models} provides a loader through {@link java.util.ServiceLoader}
 * ({@code META-INF/services/org.lens4j.core.PretrainedLoader}).
 */
public interface PretrainedLoader {

    /**
     * Loads a model.
     *
     * @param nameOrPath a registry name or alias ({@code "gpt2"}, {@code "attn-only-2l"}), a hub repo id, or
     *     a local directory or checkpoint file
     * @return the model, processed as the options say, with its tokenizer attached when one is known
     * @throws IOException when files cannot be found or read
     * @throws IllegalArgumentException for an unknown name (the message suggests close names)
     */
    HookedTransformer load(String nameOrPath, LoadOptions options) throws IOException;

    /**
     * Loads a model from a local directory or checkpoint file; unlike {@link #load(String, LoadOptions)} a
     * path that does not exist is an error, never a registry or hub look-up.
     *
     * @param dirOrFile a model directory or a checkpoint file
     * @return the model, processed as the options say
     * @throws NoSuchFileException if the path does not exist
     * @throws IOException when files cannot be read
     */
    default HookedTransformer load(Path dirOrFile, LoadOptions options) throws IOException {
        if (!Files.exists(dirOrFile)) {
            throw new NoSuchFileException(dirOrFile.toAbsolutePath().toString(), null, "no such model directory or file");
        }
        return load(dirOrFile.toString(), options);
    }
}
