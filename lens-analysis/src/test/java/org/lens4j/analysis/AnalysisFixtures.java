package org.lens4j.analysis;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.ProcessingOptions;
import org.lens4j.core.WeightProcessing;
import org.lens4j.core.testing.Fixtures;

/** The TransformerLens fixture models of lens-core's test jar, read from the classpath. */
public final class AnalysisFixtures {

    private AnalysisFixtures() {}

    /** A fixture config read as a classpath stream (the test jar is not a directory). */
    public static HookedTransformerConfig config(String model, String file) {
        String resource = "/fixtures/tl-2.12/" + model + "/" + file;
        try (InputStream in = AnalysisFixtures.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + resource);
            }
            return HookedTransformerConfig.fromJson(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The unprocessed fixture model ({@code model/}). */
    public static HookedTransformer model(String name, NDManager manager) {
        return HookedTransformer.fromStateDict(config(name, "model/config.json"),
                Fixtures.tensors(name, "model/weights.safetensors", manager));
    }

    /** The fixture model after TransformerLens's default weight processing (fold LN, centre, ...). */
    public static HookedTransformer processed(String name, NDManager manager) {
        WeightProcessing.Result p = WeightProcessing.process(config(name, "model/config.json"),
                Fixtures.tensors(name, "model/weights.safetensors", manager), ProcessingOptions.DEFAULT);
        return HookedTransformer.fromStateDict(p.config(), p.stateDict());
    }

    /** The fixture input tokens {@code [3, 16]}. */
    public static NDArray tokens(String name, NDManager manager) {
        return Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
    }

    /** A fixture tensor file. */
    public static Map<String, NDArray> tensors(String name, String file, NDManager manager) {
        return Fixtures.tensors(name, file, manager);
    }
}
