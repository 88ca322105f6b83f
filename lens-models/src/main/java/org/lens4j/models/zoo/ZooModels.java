package org.lens4j.models.zoo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.LoadOptions;

/**
 * The small models trained by lens4j and shipped inside this jar, so that examples, tests and the head
 * report work offline. Each lives under {@code org/lens4j/models/zoo/<name>/} as a TransformerLens
 * {@code config.json} and a {@code weights.safetensors} with TransformerLens parameter names; the
 * training recipe is in the safetensors metadata ({@code lens4j.recipe}).
 *
 * <p>The models are attention-only transformers (LayerNorm, d_model 64, 4 heads of 16, n_ctx 48) over a
 * vocabulary of 128 integer tokens, token 0 being BOS, trained on repeated random token sequences
 * ({@code org.lens4j.analysis.training.InductionTask}); {@code org.lens4j.examples.TrainZoo} rebuilds them.
 */
public final class ZooModels {

    /** One layer: cannot form an induction circuit (a baseline). */
    public static final String INDUCTION_1L = "lens4j-induction-attn-only-1l";
    /** Two layers: a previous-token head in layer 0 and induction heads in layer 1. */
    public static final String INDUCTION_2L = "lens4j-induction-attn-only-2l";
    /** Three layers. */
    public static final String INDUCTION_3L = "lens4j-induction-attn-only-3l";

    private static final List<String> NAMES = List.of(INDUCTION_1L, INDUCTION_2L, INDUCTION_3L);
    private static final String ROOT = "/org/lens4j/models/zoo/";

    private ZooModels() {}

    /** The names of the shipped models. */
    public static List<String> list() {
        return NAMES;
    }

    /** A shipped model's TransformerLens config. */
    public static HookedTransformerConfig config(String name) {
        return HookedTransformerConfig.fromJson(new String(resource(name, "config.json"), StandardCharsets.UTF_8));
    }

    /** Loads a shipped model without weight processing; close it when done. */
    public static HookedTransformer load(String name) {
        return load(name, LoadOptions.noProcessing());
    }

    /**
     * Loads a shipped model with the given processing and dtype, as {@code HookedTransformer.fromPretrained(name,
     * options)} does for zoo names; close it when done.
     */
    public static HookedTransformer load(String name, LoadOptions options) {
        HookedTransformerConfig cfg = config(name).toBuilder().dtype(options.dtype()).build();
        byte[] weights = resource(name, "weights.safetensors");
        NDManager staging = NDManager.newBaseManager();
        try {
            NDList list = NDList.decode(staging, weights);
            Map<String, NDArray> stateDict = new LinkedHashMap<>();
            for (NDArray a : list) {
                stateDict.put(a.getName(), a);
            }
            stateDict.replaceAll((key, a) -> a.getDataType() == options.dtype() ? a : a.toType(options.dtype(), false));
            // the model takes the arrays over into its own manager
            return HookedTransformer.fromStateDict(cfg, stateDict, options.processing());
        } catch (RuntimeException e) {
            throw new IllegalStateException("zoo model " + name + ": " + e.getMessage(), e);
        } finally {
            staging.close();
        }
    }

    private static byte[] resource(String name, String file) {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("no zoo model '" + name + "'; available: " + NAMES);
        }
        String path = ROOT + name + "/" + file;
        try (InputStream in = ZooModels.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("zoo model " + name + " is missing " + path + " on the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
