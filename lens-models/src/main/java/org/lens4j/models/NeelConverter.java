package org.lens4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.HookedTransformerConfig.PositionalEmbeddingType;

/**
 * Neel Nanda's toy models (attn-only, GELU and SoLU, hub repos {@code NeelNanda/...}) in TransformerLens's
 * terms: {@code convert_neel_model_config} for their {@code config.json} (the training config, with keys
 * such as {@code normalization} and {@code shortformer_pos}) and {@code convert_neel_solu_old_weights} for
 * the old SoLU checkpoints ({@code *_old} repos). The newer files already use TransformerLens names.
 */
public final class NeelConverter {

    /** original_architecture of models whose weights load as they are. */
    public static final String NEEL = "neel";

    /** original_architecture of the old SoLU models, whose weights need renames and transposes. */
    public static final String NEEL_SOLU_OLD = "neel-solu-old";

    /** Hub owners whose repos hold TransformerLens-format models with a training config (TransformerLens's rule). */
    static final List<String> OWNERS = List.of("NeelNanda/", "ArthurConmy/", "Baidicoot/");

    /** Keys only a Neel-style training config has. */
    private static final List<String> NEEL_ONLY_KEYS = List.of("normalization", "shortformer_pos", "architecture");

    private static final List<String> REQUIRED = List.of(
            "d_model", "n_layers", "d_mlp", "d_head", "n_heads", "n_ctx", "d_vocab", "act_fn", "attn_only");

    private NeelConverter() {}

    /**
     * Whether a {@code config.json} is a Neel-style training config: it comes from one of the hub owners
     * TransformerLens treats this way, or it has a key only such configs have.
     *
     * @param config the parsed {@code config.json}
     * @param name the repo id or directory the config belongs to
     * @return true for a Neel-style config
     */
    public static boolean isNeelConfig(JsonObject config, String name) {
        return OWNERS.stream().anyMatch(name::startsWith) || NEEL_ONLY_KEYS.stream().anyMatch(config::has);
    }

    /**
     * The TransformerLens config of a Neel-style {@code config.json}, as {@code convert_neel_model_config}
     * reads it: the shape keys, {@code act_fn}, {@code attn_only}, {@code final_rms} (default false),
     * {@code tokenizer_name}, {@code normalization} (or {@code normalization_type}) and
     * {@code shortformer_pos}; everything else (learning rates, {@code ln_eps}...) is ignored, so {@code eps}
     * is 1e-5. original_architecture is the config's {@code architecture}, else {@code neel-solu-old} when
     * the name contains {@code _old}, else {@code neel}.
     *
     * @param neel the parsed {@code config.json}
     * @param name the repo id (or directory) it came from: {@code model_name} is its last path component
     * @return the unprocessed config
     * @throws IllegalArgumentException if a required key is missing or has a bad value (named), or the
     *     architecture is one lens4j does not convert
     */
    public static HookedTransformerConfig config(JsonObject neel, String name) {
        for (String key : REQUIRED) {
            if (!neel.has(key) || neel.get(key).isJsonNull()) {
                throw new IllegalArgumentException("config.json of " + name + " has no '" + key + "'");
            }
        }
        String architecture = neel.has("architecture") ? neel.get("architecture").getAsString()
                : name.contains("_old") ? NEEL_SOLU_OLD : NEEL;
        if (!architecture.equals(NEEL) && !architecture.equals(NEEL_SOLU_OLD)) {
            throw new IllegalArgumentException("config.json of " + name + ": architecture '" + architecture
                    + "' is not supported (lens4j converts '" + NEEL + "' and '" + NEEL_SOLU_OLD + "')");
        }
        JsonElement normalization = neel.has("normalization") ? neel.get("normalization") : neel.get("normalization_type");
        if (normalization == null) {
            throw new IllegalArgumentException("config.json of " + name + " has neither 'normalization' nor "
                    + "'normalization_type'");
        }
        boolean shortformer = neel.has("shortformer_pos") && neel.get("shortformer_pos").getAsBoolean();
        try {
            return HookedTransformerConfig.builder()
                    .dModel(neel.get("d_model").getAsInt())
                    .nLayers(neel.get("n_layers").getAsInt())
                    .dMlp(neel.get("d_mlp").getAsInt())
                    .dHead(neel.get("d_head").getAsInt())
                    .nHeads(neel.get("n_heads").getAsInt())
                    .nCtx(neel.get("n_ctx").getAsInt())
                    .dVocab(neel.get("d_vocab").getAsInt())
                    .tokenizerName(neel.has("tokenizer_name") && !neel.get("tokenizer_name").isJsonNull()
                            ? neel.get("tokenizer_name").getAsString() : null)
                    .actFn(neel.get("act_fn").getAsString())
                    .attnOnly(neel.get("attn_only").getAsBoolean())
                    .finalRms(neel.has("final_rms") && neel.get("final_rms").getAsBoolean())
                    .originalArchitecture(architecture)
                    .normalizationType(NormalizationType.parse(normalization.isJsonNull() ? null
                            : normalization.getAsString()))
                    .positionalEmbeddingType(shortformer ? PositionalEmbeddingType.SHORTFORMER
                            : PositionalEmbeddingType.STANDARD)
                    .modelName(Gpt2Converter.lastPathComponent(name))
                    .initWeights(false)
                    .build();
        } catch (IllegalStateException | UnsupportedOperationException | NumberFormatException | ClassCastException e) {
            throw new IllegalArgumentException("config.json of " + name + " has a value of the wrong type: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Converts an old SoLU checkpoint ({@code convert_neel_solu_old_weights}): every {@code norm} in a key
     * becomes {@code ln} and a leading {@code ln.} becomes {@code ln_final.}; models with at most 8 layers
     * stored {@code W_pos} transposed, and models with at most 6 layers stored every other {@code W_*}
     * {@code [out, in]}, so those are transposed (last two axes).
     *
     * <p>The input is consumed: every input array either appears in the result or is closed.
     *
     * @param old the checkpoint's state dict
     * @param cfg its config (only {@code n_layers} is read)
     * @return the state dict with TransformerLens names and orientations
     */
    public static LinkedHashMap<String, NDArray> convertSoluOld(Map<String, NDArray> old, HookedTransformerConfig cfg) {
        boolean reversePos = cfg.nLayers() <= 8;
        boolean reverseWeights = cfg.nLayers() <= 6;
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : old.entrySet()) {
            String key = e.getKey().replace("norm", "ln");
            if (key.startsWith("ln.")) {
                key = "ln_final." + key.substring("ln.".length());
            }
            NDArray value = e.getValue();
            boolean transpose = key.equals("pos_embed.W_pos") ? reversePos : key.contains("W_") && reverseWeights;
            if (transpose) {
                int rank = value.getShape().dimension();
                if (rank < 2) {
                    throw new IllegalArgumentException("state dict key '" + e.getKey() + "' has shape "
                            + value.getShape() + ", but a weight matrix needs at least 2 axes");
                }
                int[] axes = new int[rank];
                for (int i = 0; i < rank; i++) {
                    axes[i] = i;
                }
                axes[rank - 2] = rank - 1;
                axes[rank - 1] = rank - 2;
                try (NDScope scope = new NDScope()) {
                    NDArray flipped = value.transpose(axes).duplicate();
                    NDScope.unregister(flipped);
                    value.close();
                    value = flipped;
                }
            }
            out.put(key, value);
        }
        return out;
    }
}
