package org.lens4j.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lens4j.core.HookedTransformerConfig;

/**
 * The TransformerLens 2.12 reference fixtures, copied into test resources under
 * {@code fixtures/tl-2.12/<name>/}. Safetensors files are read with DJL's own reader, independent of
 * lens4j's, so a reader bug cannot hide itself.
 */
public final class Fixtures {

    /** The TransformerLens-style fixture models. */
    public static final String[] TL_MODELS = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"};

    private Fixtures() {}

    /** The path of a fixture file on the test classpath, e.g. {@code ("gpt2_style_2l", "inputs.safetensors")}. */
    public static Path path(String model, String file) {
        URL url = Fixtures.class.getResource("/fixtures/tl-2.12/" + model + "/" + file);
        if (url == null) {
            throw new IllegalArgumentException("no fixture " + model + "/" + file);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies a fixture file to {@code target} (works when the fixtures sit inside the test jar). */
    public static Path copy(String model, String file, Path target) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/tl-2.12/" + model + "/" + file)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + model + "/" + file);
            }
            java.nio.file.Files.copy(in, target);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a fixture safetensors file; the arrays belong to {@code manager}. */
    public static Map<String, NDArray> tensors(String model, String file, NDManager manager) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/tl-2.12/" + model + "/" + file)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + model + "/" + file);
            }
            NDList list = NDList.decode(manager, in);
            Map<String, NDArray> out = new LinkedHashMap<>();
            for (NDArray a : list) {
                out.put(a.getName(), a);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The unprocessed fixture model ({@code model/config.json} + {@code model/weights.safetensors}); close it. */
    public static org.lens4j.core.HookedTransformer model(String model, NDManager manager) {
        return org.lens4j.core.HookedTransformer.fromStateDict(config(model, "model/config.json"),
                tensors(model, "model/weights.safetensors", manager));
    }

    /** Reads a fixture config ({@code model/config.json}, {@code processed/config.json}, ...). */
    public static HookedTransformerConfig config(String model, String file) {
        // Read as a stream: from another module's tests the fixtures sit inside the test jar, not on disk.
        try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/tl-2.12/" + model + "/" + file)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + model + "/" + file);
            }
            return HookedTransformerConfig.fromJson(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
