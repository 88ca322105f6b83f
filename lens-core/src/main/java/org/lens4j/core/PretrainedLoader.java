package org.lens4j.core;

import java.io.IOException;

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
}
