package org.lens4j.analysis.patching;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** The {@code __metadata__} strings of a fixture safetensors file (DJL's reader drops them). */
final class FixtureMetadata {

    private FixtureMetadata() {}

    static Map<String, String> read(String model, String file) {
        String resource = "/fixtures/tl-2.12/" + model + "/" + file;
        try (InputStream raw = FixtureMetadata.class.getResourceAsStream(resource)) {
            if (raw == null) {
                throw new IllegalArgumentException("no fixture " + resource);
            }
            DataInputStream in = new DataInputStream(raw);
            byte[] len = new byte[8];
            in.readFully(len);
            byte[] header = new byte[(int) ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong()];
            in.readFully(header);
            JsonObject meta = JsonParser.parseString(new String(header, StandardCharsets.UTF_8)).getAsJsonObject()
                    .getAsJsonObject("__metadata__");
            Map<String, String> out = new LinkedHashMap<>();
            meta.entrySet().forEach(e -> out.put(e.getKey(), e.getValue().getAsString()));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
