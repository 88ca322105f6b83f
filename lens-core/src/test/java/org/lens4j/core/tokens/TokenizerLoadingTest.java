package org.lens4j.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading: files, special-token configuration, and the errors for bad files and misuse. */
class TokenizerLoadingTest {

    @TempDir
    Path tmp;

    /** Copies the ints tokenizer.json into {@code tmp} and writes the given config files next to it. */
    private Path intsWith(String... nameThenJson) throws IOException, URISyntaxException {
        Files.copy(TestTokenizers.dir("ints").resolve("tokenizer.json"), tmp.resolve("tokenizer.json"),
                StandardCopyOption.REPLACE_EXISTING);
        for (int i = 0; i < nameThenJson.length; i += 2) {
            Files.writeString(tmp.resolve(nameThenJson[i]), nameThenJson[i + 1]);
        }
        return tmp.resolve("tokenizer.json");
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        Path missing = tmp.resolve("nope/tokenizer.json");
        assertThatThrownBy(() -> Tokenizer.fromFile(missing))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(missing.toString());
        assertThatThrownBy(() -> Tokenizer.fromDirectory(tmp.resolve("nope")))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(tmp.resolve("nope").toString());
        assertThatThrownBy(() -> Tokenizer.fromDirectory(tmp))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(tmp.resolve("tokenizer.json").toString());
        assertThatThrownBy(() -> Tokenizer.fromFile(tmp))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(tmp + " is a directory");
        Path file = Files.writeString(tmp.resolve("notadir"), "x");
        assertThatThrownBy(() -> Tokenizer.fromDirectory(file)).isInstanceOf(NotDirectoryException.class);
    }

    @Test
    void invalidTokenizerJsonIsAnIoErrorNamingTheFile() throws IOException {
        Path broken = Files.writeString(tmp.resolve("broken.json"), "{\"model\": {\"vocab\": ");
        assertThatThrownBy(() -> Tokenizer.fromFile(broken))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(broken + ": not a valid tokenizer.json");
        Path noVocab = Files.writeString(tmp.resolve("novocab.json"), "{\"model\": {\"type\": \"BPE\"}}");
        assertThatThrownBy(() -> Tokenizer.fromFile(noVocab))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(noVocab + ": tokenizer.json has no model.vocab");
        // valid JSON with a vocabulary, rejected by the Rust library
        Path unknownModel = Files.writeString(tmp.resolve("unknown.json"),
                "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"a\": 0}}}");
        assertThatThrownBy(() -> Tokenizer.fromFile(unknownModel))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(unknownModel + ": not a valid tokenizer.json");
    }

    @Test
    void specialTokensMapOverridesTokenizerConfig() throws IOException, URISyntaxException {
        Path json = intsWith(
                "tokenizer_config.json", "{\"bos_token\": \"5\", \"eos_token\": \"6\", \"pad_token\": null}",
                "special_tokens_map.json", "{\"bos_token\": {\"content\": \"7\", \"lstrip\": false}}");
        try (Tokenizer tokenizer = Tokenizer.fromFile(json)) {
            assertThat(tokenizer.bosTokenId()).isEqualTo(7);
            assertThat(tokenizer.eosTokenId()).isEqualTo(6);
            assertThat(tokenizer.padTokenId()).as("pad falls back to eos").isEqualTo(6);
        }
    }

    @Test
    void configuredTokenOutsideTheVocabularyIsNamed() throws IOException, URISyntaxException {
        Path json = intsWith("tokenizer_config.json", "{\"pad_token\": \"<pad>\"}");
        assertThatThrownBy(() -> Tokenizer.fromFile(json))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(tmp.resolve("tokenizer_config.json") + " names pad_token '<pad>'")
                .hasMessageContaining("not in the vocabulary of " + json);
    }

    @Test
    void malformedConfigIsNamed() throws IOException, URISyntaxException {
        intsWith("tokenizer_config.json", "{\"bos_token\": ");
        assertThatThrownBy(() -> Tokenizer.fromDirectory(tmp))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(tmp.resolve("tokenizer_config.json") + ": not a valid JSON object");
        intsWith("tokenizer_config.json", "{\"bos_token\": 3}");
        assertThatThrownBy(() -> Tokenizer.fromDirectory(tmp))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("bos_token must be a string or an object with \"content\", got 3");
    }

    @Test
    void bosThatIsNotAnAddedTokenIsCaught() throws IOException, URISyntaxException {
        // "7" + "3 14" is the word "73": prepending the BOS string would silently give [73, 14]
        try (Tokenizer tokenizer = Tokenizer.fromFile(intsWith("tokenizer_config.json", "{\"bos_token\": \"7\"}"))) {
            assertThatThrownBy(() -> tokenizer.toTokens("3 14", true))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("does not encode the BOS string '7' as the single token 7")
                    .hasMessageContaining("got [73, 14]");
            assertThat(tokenizer.toTokens("3 14", false)).containsExactly(3, 14);
        }
    }

    @Test
    void unigramVocabularyIsAList() throws IOException {
        Path json = Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Unigram\", "
                + "\"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], [\"a\", -1.0], [\"b\", -1.0], [\"ab\", -0.5]]}}");
        try (Tokenizer tokenizer = Tokenizer.fromFile(json, PaddingSide.LEFT)) {
            assertThat(tokenizer.vocabSize()).isEqualTo(4);
            // best path: "ab" (score -0.5) beats "a" + "b" (-2.0)
            assertThat(tokenizer.toTokens("ab", false)).containsExactly(3);
            assertThat(tokenizer.toTokens("ba", false)).containsExactly(2, 1);
            assertThat(tokenizer.defaultPaddingSide()).isEqualTo(PaddingSide.LEFT);
        }
    }

    @Test
    void closedTokenizerRefusesWork() throws IOException, URISyntaxException {
        Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints"));
        tokenizer.close();
        tokenizer.close(); // idempotent
        assertThatThrownBy(() -> tokenizer.toTokens("1", false))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageEndingWith("is closed");
        assertThatThrownBy(() -> tokenizer.toString(new long[] {1}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageEndingWith("is closed");
    }

    @Test
    void badBatchArguments() throws IOException, URISyntaxException {
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints"))) {
            assertThatThrownBy(() -> tokenizer.toTokens(List.of(), false, PaddingSide.RIGHT))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("texts is empty");
            List<String> withNull = new ArrayList<>(List.of("1"));
            withNull.add(null);
            assertThatThrownBy(() -> tokenizer.toTokens(withNull, false, PaddingSide.RIGHT))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("texts[1] is null");
        }
        assertThatThrownBy(() -> new TokenBatch(new long[][] {{1, 2}}, new long[][] {{1}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("row 0 of tokens / attentionMask has length 2 / 1, expected 2");
    }
}
