package org.lens4j.core.tokens;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Locates the tokenizers under {@code src/test/resources/tokenizers/}. */
final class TestTokenizers {

    private TestTokenizers() {}

    /**
     * @param name a folder under {@code tokenizers/}, e.g. {@code "gpt2"}
     * @return its path on disk
     */
    static Path dir(String name) throws URISyntaxException {
        URL url = TestTokenizers.class.getResource("/tokenizers/" + name + "/tokenizer.json");
        if (url == null) {
            throw new IllegalArgumentException("no test tokenizer " + name);
        }
        return Path.of(url.toURI()).getParent();
    }
}
