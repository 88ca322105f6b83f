package org.lens4j.core.tokens;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The token-to-id table of a Hugging Face {@code tokenizer.json}: the model's vocabulary plus the
 * added tokens. DJL's tokenizer API exposes neither, and both are needed to resolve special tokens
 * by name and to know {@code d_vocab}.
 */
final class Vocabulary {

    private final Map<String, Long> ids;
    private final long maxId;

    private Vocabulary(Map<String, Long> ids) {
        this.ids = ids;
        this.maxId = ids.values().stream().mapToLong(Long::longValue).max().orElse(-1);
    }

    /**
     * Reads the vocabulary from the text of a {@code tokenizer.json}.
     *
     * @param json the file's content
     * @param file the file, for error messages
     * @throws IOException if the JSON is malformed or has no {@code model.vocab}
     */
    static Vocabulary parse(String json, Path file) throws IOException {
        try {
            JsonElement root = JsonParser.parseString(json);
            JsonElement model = root.isJsonObject() ? root.getAsJsonObject().get("model") : null;
            JsonElement vocab = model != null && model.isJsonObject() ? model.getAsJsonObject().get("vocab") : null;
            if (vocab == null || vocab.isJsonNull()) {
                throw new IOException(file + ": tokenizer.json has no model.vocab");
            }
            Map<String, Long> ids = new HashMap<>();
            if (vocab.isJsonObject()) { // BPE, WordPiece, WordLevel: {token: id}
                for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                    ids.put(e.getKey(), e.getValue().getAsLong());
                }
            } else { // Unigram: [[piece, score], ...], the id is the index
                long i = 0;
                for (JsonElement piece : vocab.getAsJsonArray()) {
                    ids.putIfAbsent(piece.getAsJsonArray().get(0).getAsString(), i++);
                }
            }
            // Added tokens win over the model's vocabulary, as in tokenizers' token_to_id.
            JsonElement added = root.getAsJsonObject().get("added_tokens");
            if (added != null && !added.isJsonNull()) {
                for (JsonElement t : added.getAsJsonArray()) {
                    JsonObject token = t.getAsJsonObject();
                    if (!token.has("content") || !token.has("id")) {
                        throw new IOException(file + ": an added token has no content or id: " + token);
                    }
                    ids.put(token.get("content").getAsString(), token.get("id").getAsLong());
                }
            }
            return new Vocabulary(ids);
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException
                | ClassCastException | NumberFormatException | IndexOutOfBoundsException e) {
            // Gson's ways of saying "not the expected JSON shape"
            throw new IOException(file + ": not a valid tokenizer.json (" + e.getMessage() + ")", e);
        }
    }

    /** @return the id of {@code token}, or empty if the tokenizer does not know it */
    OptionalLong idOf(String token) {
        Long id = ids.get(token);
        return id == null ? OptionalLong.empty() : OptionalLong.of(id);
    }

    /** @return {@code d_vocab}: the largest id plus one, as TransformerLens infers it */
    int size() {
        return Math.toIntExact(maxId + 1);
    }
}
