package org.lens4j.models;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lens4j.core.HookedTransformerConfig;

/**
 * A model's {@code config.json} read in whichever of the three forms it comes, with the weight format that
 * goes with it.
 *
 * <ul>
 *   <li>a Hugging Face config ({@code model_type} / {@code architectures}; GPT-2 only): converted by
 *       {@link Gpt2Converter#config}, weights {@link WeightFormat#HF_GPT2};
 *   <li>a Neel-style training config (a {@code NeelNanda/}, {@code ArthurConmy/} or {@code Baidicoot/} repo,
 *       or keys such as {@code normalization} / {@code shortformer_pos}): converted by
 *       {@link NeelConverter#config}, weights in TransformerLens names ({@link WeightFormat#NEEL_SOLU_OLD}
 *       for the old SoLU models);
 *   <li>otherwise TransformerLens's own {@code cfg.to_dict()}: read by {@link HookedTransformerConfig#fromJson},
 *       weights in TransformerLens names.
 * </ul>
 *
 * @param config the unprocessed TransformerLens config
 * @param weightFormat how the checkpoint's tensors are named
 */
public record PretrainedConfig(HookedTransformerConfig config, WeightFormat weightFormat) {

    /**
     * Reads a {@code config.json} file.
     *
     * @param file the file
     * @param name the repo id or directory the model comes from (decides Neel-style configs and old SoLU
     *     models as in TransformerLens, and gives {@code model_name})
     * @return the config and weight format
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if it is not valid JSON or not a usable config; the message names the file
     */
    public static PretrainedConfig read(Path file, String name) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try {
            return fromJson(text, name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses {@code config.json} text; see {@link #read}.
     *
     * @param json the file's text
     * @param name the repo id or directory the model comes from
     * @return the config and weight format
     * @throws IllegalArgumentException if it is not valid JSON or not a usable config
     */
    public static PretrainedConfig fromJson(String json, String name) {
        JsonElement root;
        try {
            root = JsonParser.parseString(json);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonObject()) {
            throw new IllegalArgumentException("config.json must hold a JSON object");
        }
        JsonObject o = root.getAsJsonObject();
        if (Gpt2Converter.isHuggingFaceConfig(o)) {
            return new PretrainedConfig(Gpt2Converter.config(o, name), WeightFormat.HF_GPT2);
        }
        if (NeelConverter.isNeelConfig(o, name)) {
            HookedTransformerConfig cfg = NeelConverter.config(o, name);
            boolean old = NeelConverter.NEEL_SOLU_OLD.equals(cfg.originalArchitecture());
            return new PretrainedConfig(cfg, old ? WeightFormat.NEEL_SOLU_OLD : WeightFormat.TRANSFORMER_LENS);
        }
        return new PretrainedConfig(HookedTransformerConfig.fromJson(json), WeightFormat.TRANSFORMER_LENS);
    }
}
