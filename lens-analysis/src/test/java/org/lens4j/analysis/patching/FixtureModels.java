package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.testing.Fixtures;

/**
 * Fixture models from lens-core's test-jar. The config is read as a classpath stream because
 * {@code Fixtures.config} needs a file path, which a jar entry does not have.
 */
final class FixtureModels {

    private FixtureModels() {}

    /** The fixture's config ({@code model/config.json}). */
    static HookedTransformerConfig config(String name) {
        String resource = "/fixtures/tl-2.12/" + name + "/model/config.json";
        try (InputStream in = FixtureModels.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + resource);
            }
            return HookedTransformerConfig.fromJson(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fixture model with its unprocessed weights, in float32. */
    static HookedTransformer load(String name, NDManager manager) {
        return load(name, DataType.FLOAT32, manager);
    }

    /** The fixture model with its unprocessed weights, in a dtype. */
    static HookedTransformer load(String name, DataType dtype, NDManager manager) {
        return HookedTransformer.fromStateDict(config(name).toBuilder().dtype(dtype).build(),
                Fixtures.tensors(name, "model/weights.safetensors", manager));
    }
}
