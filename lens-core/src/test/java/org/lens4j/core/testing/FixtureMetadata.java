package org.lens4j.core.testing;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The {@code __metadata__} of a fixture safetensors file (DJL's reader drops it): the header is an 8-byte
 * little-endian length followed by that many bytes of JSON.
 */
public final class FixtureMetadata {

    private static final Gson GSON = new Gson();

    private final Map<String, String> values;

    private FixtureMetadata(Map<String, String> values) {
        this.values = values;
    }

    /** Reads the metadata of a fixture file, e.g. {@code ("gpt2_style_2l", "analysis.safetensors")}. */
    public static FixtureMetadata read(String model, String file) {
        String resource = "/fixtures/tl-2.12/" + model + "/" + file;
        try (InputStream in = FixtureMetadata.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + resource);
            }
            long n = ByteBuffer.wrap(in.readNBytes(8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
            String json = new String(in.readNBytes((int) n), StandardCharsets.UTF_8);
            JsonObject header = GSON.fromJson(json, JsonObject.class);
            Map<String, String> meta = GSON.fromJson(header.get("__metadata__"),
                    new TypeToken<Map<String, String>>() {}.getType());
            return new FixtureMetadata(meta);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A metadata value; a missing key throws. */
    public String get(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no metadata key '" + key + "'; keys: " + values.keySet());
        }
        return v;
    }

    /** A metadata value that holds a JSON list of strings (the {@code labels.*} keys). */
    public List<String> list(String key) {
        return GSON.fromJson(get(key), new TypeToken<List<String>>() {}.getType());
    }

    /** Whether the key is present. */
    public boolean contains(String key) {
        return values.containsKey(key);
    }
}
