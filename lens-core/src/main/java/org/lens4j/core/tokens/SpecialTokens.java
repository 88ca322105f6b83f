package org.lens4j.core.tokens;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The BOS, EOS and PAD token strings of a tokenizer, read from the {@code tokenizer_config.json}
 * and {@code special_tokens_map.json} next to its {@code tokenizer.json} (the latter wins, as in
 * Hugging Face's {@code from_pretrained}), then completed with TransformerLens's
 * {@code set_tokenizer} fallbacks: EOS defaults to {@code <|endoftext|>}, PAD and BOS to EOS.
 *
 * @param bos the BOS string
 * @param eos the EOS string
 * @param pad the PAD string
 * @param configuredIn the config file that named each token ({@code "bos_token"} to a path);
 *     a key is absent when its token is a fallback
 */
record SpecialTokens(String bos, String eos, String pad, Map<String, Path> configuredIn) {

    /** TransformerLens's EOS when the tokenizer names none. */
    static final String DEFAULT_EOS = "<|endoftext|>";

    static final String BOS_KEY = "bos_token";
    static final String EOS_KEY = "eos_token";
    static final String PAD_KEY = "pad_token";

    /**
     * Reads the special tokens configured for a tokenizer.
     *
     * @param dir the directory holding {@code tokenizer.json}
     * @throws IOException if a config file exists but cannot be read or parsed
     */
    static SpecialTokens read(Path dir) throws IOException {
        Map<String, String> names = new HashMap<>();
        Map<String, Path> configuredIn = new HashMap<>();
        for (String file : new String[] {"tokenizer_config.json", "special_tokens_map.json"}) {
            Path path = dir.resolve(file);
            if (!Files.isRegularFile(path)) {
                continue;
            }
            JsonObject config = readObject(path);
            for (String key : new String[] {BOS_KEY, EOS_KEY, PAD_KEY}) {
                if (config.has(key)) {
                    String content = content(config.get(key), path, key);
                    if (content != null) {
                        names.put(key, content);
                        configuredIn.put(key, path);
                    }
                }
            }
        }
        String eos = names.getOrDefault(EOS_KEY, DEFAULT_EOS);
        return new SpecialTokens(names.getOrDefault(BOS_KEY, eos), eos, names.getOrDefault(PAD_KEY, eos),
                Map.copyOf(configuredIn));
    }

    private static JsonObject readObject(Path path) throws IOException {
        try {
            return JsonParser.parseString(Files.readString(path, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException(path + ": not a valid JSON object (" + e.getMessage() + ")", e);
        }
    }

    /** A special token is written either as a string or as an AddedToken object with "content". */
    private static String content(JsonElement value, Path path, String key) throws IOException {
        if (value.isJsonNull()) {
            return null;
        }
        if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isString()) {
            return value.getAsString();
        }
        if (value.isJsonObject() && value.getAsJsonObject().has("content")) {
            return value.getAsJsonObject().get("content").getAsString();
        }
        throw new IOException(path + ": " + key + " must be a string or an object with \"content\", got " + value);
    }
}
