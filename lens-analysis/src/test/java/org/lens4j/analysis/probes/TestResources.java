package org.lens4j.analysis.probes;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import org.lens4j.core.tokens.Tokenizer;

/** Files under {@code src/test/resources}. */
final class TestResources {

    private TestResources() {}

    /** The ints tokenizer: words "0".."99" are ids 0..99. Close it. */
    static Tokenizer intsTokenizer() throws IOException {
        URL url = TestResources.class.getResource("/tokenizers/ints/tokenizer.json");
        try {
            return Tokenizer.fromFile(Path.of(url.toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
