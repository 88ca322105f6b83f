package org.lens4j.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URISyntaxException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Tokenizers whose words are their ids ({@code "0"}..{@code "99"}, WordLevel), like the token
 * inputs of the TransformerLens fixtures: the wrapper works for any {@code tokenizer.json}, with
 * or without special tokens, and with BOS added by the tokenizer itself.
 */
class IntTokenizerTest {

    @Test
    void wordsAreIds() throws IOException, URISyntaxException {
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints"))) {
            assertThat(tokenizer.vocabSize()).isEqualTo(100);
            long[] tokens = tokenizer.toTokens("3 14 15 92 65", false);
            assertThat(tokens).containsExactly(3, 14, 15, 92, 65);
            assertThat(tokenizer.toString(tokens)).isEqualTo("3 14 15 92 65");
            assertThat(tokenizer.toStrTokens(tokens)).containsExactly("3", "14", "15", "92", "65");
            assertThat(tokenizer.toSingleToken("99")).isEqualTo(99);
            assertThat(tokenizer.toString(new long[][] {{0, 1}, {2}})).containsExactly("0 1", "2");
        }
    }

    @Test
    void withoutSpecialTokensBosAndPaddingFailClearly() throws IOException, URISyntaxException {
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints"))) {
            assertThatThrownBy(() -> tokenizer.toTokens("1 2", true))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("has no bos_token: '<|endoftext|>'")
                    .hasMessageContaining("prependBos = false");
            assertThatThrownBy(tokenizer::bosTokenId).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(tokenizer::eosTokenId).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(tokenizer::padTokenId).isInstanceOf(IllegalStateException.class);

            TokenBatch same = tokenizer.toTokens(List.of("1 2", "3 4"), false, PaddingSide.RIGHT);
            assertThat(same.tokens()).isDeepEqualTo(new long[][] {{1, 2}, {3, 4}});
            assertThat(same.attentionMask()).isDeepEqualTo(new long[][] {{1, 1}, {1, 1}});
            assertThatThrownBy(() -> tokenizer.toTokens(List.of("1 2", "3"), false, PaddingSide.RIGHT))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("has no pad token")
                    .hasMessageContaining("text 1 has 1 tokens, the longest 2");
        }
    }

    @Test
    void unknownWordAndBadIdsAreNamed() throws IOException, URISyntaxException {
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints"))) {
            assertThatThrownBy(() -> tokenizer.toTokens("1 100 2", false))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("cannot encode text 0 '1 100 2'");
            assertThatThrownBy(() -> tokenizer.toString(new long[] {5, 100}))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("token id 100 at [1] is outside the vocabulary [0, 100)");
            assertThatThrownBy(() -> tokenizer.toSingleToken("1 2"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'1 2' is not a single token: it is 2 tokens ['1', '2'] = [1, 2]");
            assertThatThrownBy(() -> tokenizer.toSingleToken(""))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("it is 0 tokens");
        }
    }

    @Test
    void tokenPositionInTokenArrays() throws IOException, URISyntaxException {
        // spec 14.6: tensor input [2, 3, 4] -> 0; [2, 3, 4, 2, 5] with mode "last" -> 3
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints"))) {
            assertThat(tokenizer.getTokenPosition(2, new long[] {2, 3, 4}, false)).isZero();
            assertThat(tokenizer.getTokenPosition(2, new long[] {2, 3, 4, 2, 5}, true)).isEqualTo(3);
            assertThat(tokenizer.getTokenPosition("4", "2 3 4 2 5", false, false)).isEqualTo(2);
            assertThatThrownBy(() -> tokenizer.getTokenPosition(7, new long[] {2, 3, 4}, false))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("The token 7 does not occur in the prompt [2, 3, 4]");
        }
    }

    @Test
    void configuredSpecialTokens() throws IOException, URISyntaxException {
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints-special"))) {
            assertThat(tokenizer.bosTokenId()).isEqualTo(100);
            assertThat(tokenizer.eosTokenId()).isEqualTo(100);
            assertThat(tokenizer.padTokenId()).isEqualTo(101);
            assertThat(tokenizer.vocabSize()).isEqualTo(102);
            // tokenizer_config.json says "padding_side": "left"; TransformerLens ignores it
            assertThat(tokenizer.defaultPaddingSide()).isEqualTo(PaddingSide.RIGHT);

            long[] tokens = tokenizer.toTokens("3 14", true);
            assertThat(tokens).containsExactly(100, 3, 14);
            assertThat(tokenizer.toStrTokens(tokens)).containsExactly("<|BOS|>", "3", "14");
            assertThat(tokenizer.toString(tokens)).isEqualTo("<|BOS|> 3 14");
            assertThat(tokenizer.getTokenPosition("14", "3 14", false, true)).isEqualTo(2);
        }
    }

    @Test
    void paddingWhenBosIsNotPad() throws IOException, URISyntaxException {
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints-special"), PaddingSide.LEFT)) {
            assertThat(tokenizer.defaultPaddingSide()).isEqualTo(PaddingSide.LEFT);
            List<String> texts = List.of("1 2 3", "4");

            TokenBatch left = tokenizer.toTokens(texts, true, PaddingSide.LEFT);
            assertThat(left.tokens()).isDeepEqualTo(new long[][] {{100, 1, 2, 3}, {101, 101, 100, 4}});
            // BOS != PAD, so no pad is re-enabled: the whole leading run of 101 is padding
            assertThat(left.attentionMask()).isDeepEqualTo(new long[][] {{1, 1, 1, 1}, {0, 0, 1, 1}});

            TokenBatch right = tokenizer.toTokens(texts, true, PaddingSide.RIGHT);
            assertThat(right.tokens()).isDeepEqualTo(new long[][] {{100, 1, 2, 3}, {100, 4, 101, 101}});
            assertThat(right.attentionMask()).isDeepEqualTo(new long[][] {{1, 1, 1, 1}, {1, 1, 0, 0}});
            assertThat(right.batchSize()).isEqualTo(2);
            assertThat(right.length()).isEqualTo(4);
        }
    }

    @Test
    void attentionMaskOnlyMasksTheOuterRunOfPads() throws IOException, URISyntaxException {
        // TransformerLens: pad ids inside the text are real tokens; only the trailing (right) or
        // leading (left) run is padding.
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints-special"))) {
            long[][] tokens = {{100, 101, 7, 101, 101}};
            assertThat(tokenizer.getAttentionMask(tokens, true, PaddingSide.RIGHT))
                    .isDeepEqualTo(new long[][] {{1, 1, 1, 0, 0}});
            long[][] leftPadded = {{101, 101, 7, 101, 8}};
            assertThat(tokenizer.getAttentionMask(leftPadded, true, PaddingSide.LEFT))
                    .isDeepEqualTo(new long[][] {{0, 0, 1, 1, 1}});
        }
    }

    @Test
    void tokenizerThatAddsBosItself() throws IOException, URISyntaxException {
        // The post-processor puts <|BOS|> in front (TransformerLens's tokenizer_prepends_bos): no
        // second BOS with prependBos, and the tokenizer's BOS is removed without it.
        try (Tokenizer tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("ints-bos-template"))) {
            assertThat(tokenizer.toTokens("5 6", true)).containsExactly(100, 5, 6);
            assertThat(tokenizer.toTokens("5 6", false)).containsExactly(5, 6);
            assertThat(tokenizer.toTokens("", true)).containsExactly(100);
            assertThat(tokenizer.toTokens("", false)).isEmpty();
            TokenBatch batch = tokenizer.toTokens(List.of("5", "5 6 7"), false, PaddingSide.LEFT);
            assertThat(batch.tokens()).isDeepEqualTo(new long[][] {{101, 101, 5}, {5, 6, 7}});
            assertThat(batch.attentionMask()).isDeepEqualTo(new long[][] {{0, 0, 1}, {1, 1, 1}});
        }
    }
}
