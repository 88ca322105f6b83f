package org.lens4j.analysis.ioi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.lens4j.core.tokens.Tokenizer;

/** The GPT-2 tokenizer of lens-core's test jar, copied to a file (a jar entry has no path). */
final class Gpt2Tokenizer {

    private Gpt2Tokenizer() {}

    /** Opens the GPT-2 tokenizer; close it when done. */
    static Tokenizer open() {
        try (InputStream in = Gpt2Tokenizer.class.getResourceAsStream("/tokenizers/gpt2/tokenizer.json")) {
            if (in == null) {
                throw new IllegalStateException("no /tokenizers/gpt2/tokenizer.json on the test classpath");
            }
            Path file = Files.createTempFile("gpt2-tokenizer", ".json");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            return Tokenizer.fromFile(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
