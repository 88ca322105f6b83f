package org.lens4j.core.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real GPT-2 tokenizer against the TransformerLens facts of the spec (section 14.3: GPT-2 small
 * demo notebooks, TransformerLens 2.16.1).
 */
class Gpt2TokenizerTest {

    private static final long EOT = 50256;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        tokenizer = Tokenizer.fromDirectory(TestTokenizers.dir("gpt2"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void specialTokensAreEndOfTextByFallback() {
        assertThat(tokenizer.bosTokenId()).isEqualTo(EOT);
        assertThat(tokenizer.eosTokenId()).isEqualTo(EOT);
        assertThat(tokenizer.padTokenId()).isEqualTo(EOT);
        assertThat(tokenizer.vocabSize()).isEqualTo(50257);
        assertThat(tokenizer.defaultPaddingSide()).isEqualTo(PaddingSide.RIGHT);
    }

    @Test
    void helloWorldGetsBosByDefault() {
        assertThat(tokenizer.toTokens("Hello world", true)).containsExactly(EOT, 15496, 995);
        assertThat(tokenizer.toTokens("Hello world", false)).containsExactly(15496, 995);
    }

    @Test
    void strTokensOfNumbers() {
        assertThat(tokenizer.toStrTokens("2342+2017=21445", true))
                .containsExactly("<|endoftext|>", "23", "42", "+", "2017", "=", "214", "45");
    }

    @Test
    void toStringOfOneToken() {
        assertThat(tokenizer.toString(new long[] {256})).isEqualTo(" t");
    }

    @Test
    void claireWithAndWithoutSpace() {
        assertThat(tokenizer.toTokens(" Claire", false)).hasSize(1);
        assertThat(tokenizer.toStrTokens("Claire", false)).containsExactly("Cl", "aire");
        assertThatThrownBy(() -> tokenizer.toSingleToken("Claire"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'Claire' is not a single token")
                .hasMessageContaining("['Cl', 'aire']");
    }

    @Test
    void singleTokens() {
        assertThat(tokenizer.toSingleToken(" SolidGoldMagikarp")).isEqualTo(43453);
        Map<String, Long> names = Map.of(" Mary", 5335L, " John", 1757L, " Tom", 4186L, " James", 3700L,
                " Dan", 6035L, " Sid", 15686L, " Martin", 5780L, " Amy", 14235L);
        names.forEach((name, id) -> assertThat(tokenizer.toSingleToken(name)).as(name).isEqualTo(id));
    }

    @Test
    void rightPaddedBatch() {
        TokenBatch batch = tokenizer.toTokens(
                List.of("The cat sat on the mat.", "The cat sat on the mat really hard."), true, PaddingSide.RIGHT);
        assertThat(batch.tokens()).isDeepEqualTo(new long[][] {
            {EOT, 464, 3797, 3332, 319, 262, 2603, 13, EOT, EOT},
            {EOT, 464, 3797, 3332, 319, 262, 2603, 1107, 1327, 13}});
        assertThat(batch.attentionMask()).isDeepEqualTo(new long[][] {
            {1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
            {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}});
    }

    @Test
    void leftPaddedBatchReenablesBos() {
        TokenBatch batch = tokenizer.toTokens(
                List.of("The cat sat on the mat.", "The cat sat on the mat really hard."), true, PaddingSide.LEFT);
        assertThat(batch.tokens()).isDeepEqualTo(new long[][] {
            {EOT, EOT, EOT, 464, 3797, 3332, 319, 262, 2603, 13},
            {EOT, 464, 3797, 3332, 319, 262, 2603, 1107, 1327, 13}});
        // leading run of 50256 is padding, except its last element, which is the BOS token
        assertThat(batch.attentionMask()).isDeepEqualTo(new long[][] {
            {0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
            {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}});
    }

    @Test
    void leftPaddedBatchWithoutBosMasksWholeRun() {
        TokenBatch batch = tokenizer.toTokens(
                List.of("The cat sat on the mat.", "The cat sat on the mat really hard."), false, PaddingSide.LEFT);
        assertThat(batch.tokens()).isDeepEqualTo(new long[][] {
            {EOT, EOT, 464, 3797, 3332, 319, 262, 2603, 13},
            {464, 3797, 3332, 319, 262, 2603, 1107, 1327, 13}});
        assertThat(batch.attentionMask()).isDeepEqualTo(new long[][] {
            {0, 0, 1, 1, 1, 1, 1, 1, 1},
            {1, 1, 1, 1, 1, 1, 1, 1, 1}});
    }

    @Test
    void bosIsOnlyAnExtraFirstToken() {
        // TransformerLens test_prepend_bos.py::test_same_tokenization, right padding
        List<String> prompts = List.of("Italy is in Europe.", "Pyeongchang Olympics was held in 2018", "2023-09-09",
                "287594812673495");
        long[][] with = tokenizer.toTokens(prompts, true, PaddingSide.RIGHT).tokens();
        long[][] without = tokenizer.toTokens(prompts, false, PaddingSide.RIGHT).tokens();
        for (int b = 0; b < prompts.size(); b++) {
            assertThat(Arrays.copyOfRange(with[b], 1, with[b].length)).as(prompts.get(b)).isEqualTo(without[b]);
            List<String> strWith = tokenizer.toStrTokens(prompts.get(b), true);
            assertThat(strWith.get(0)).isEqualTo("<|endoftext|>");
            assertThat(strWith.subList(1, strWith.size())).isEqualTo(tokenizer.toStrTokens(prompts.get(b), false));
        }
    }

    @Test
    void tokenPositions() {
        assertThat(tokenizer.getTokenPosition(" cat", "The cat sat on the mat", false, true)).isEqualTo(2);
        assertThat(tokenizer.getTokenPosition(" cat", "The cat sat on the mat", false, false)).isEqualTo(1);
        assertThat(tokenizer.getTokenPosition(" cat", "The cat sat on the mat. The mat sat on the cat.", true, true))
                .isEqualTo(13);
        assertThat(tokenizer.getTokenPosition(EOT, tokenizer.toTokens("Hello world!", true), false)).isZero();
    }

    @Test
    void tokenNotInPromptNamesIt() {
        assertThatThrownBy(() -> tokenizer.getTokenPosition(" dog", "The cat sat on the mat", false, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("The token ' dog'")
                .hasMessageContaining("does not occur in the prompt 'The cat sat on the mat'");
        assertThatThrownBy(() -> tokenizer.getTokenPosition(EOT, tokenizer.toTokens("Hello world!", false), true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("The token 50256 does not occur in the prompt");
    }

    @Test
    void longTextIsNotTruncated() {
        long hello = tokenizer.toSingleToken(" hello");
        String text = " hello".repeat(2500);
        long[] tokens = tokenizer.toTokens(text, true);
        assertThat(tokens).hasSize(2501);
        assertThat(tokens[0]).isEqualTo(EOT);
        for (int p = 1; p < tokens.length; p++) {
            assertThat(tokens[p]).isEqualTo(hello);
        }
        assertThat(tokenizer.toString(Arrays.copyOfRange(tokens, 1, tokens.length))).isEqualTo(text);
    }

    @Test
    void decodingKeepsSpecialTokensAndSpaces() {
        String text = "Hello ,  world !\n\n  naïve café 🙂";
        assertThat(tokenizer.toString(tokenizer.toTokens(text, false))).isEqualTo(text);
        assertThat(tokenizer.toString(tokenizer.toTokens(text, true))).isEqualTo("<|endoftext|>" + text);
        assertThat(tokenizer.toString(new long[][] {tokenizer.toTokens("a b", true), {256}}))
                .containsExactly("<|endoftext|>a b", " t");
    }

    @Test
    void partialUtf8TokensDecodeToReplacementCharacter() {
        // "🙂" is UTF-8 F0 9F 99 82; GPT-2's encoder.json has 8582 = "ðŁ" (bytes F0 9F) and
        // 25081 = "ĻĤ" (bytes 99 82). Python: b"\xf0\x9f".decode("utf-8", "replace") == "\ufffd",
        // b"\x99\x82".decode("utf-8", "replace") == "\ufffd\ufffd".
        long[] tokens = tokenizer.toTokens("🙂", false);
        assertThat(tokens).containsExactly(8582, 25081);
        assertThat(tokenizer.toStrTokens(tokens)).containsExactly("\ufffd", "\ufffd\ufffd");
        assertThat(tokenizer.toString(tokens)).isEqualTo("🙂");
    }

    @Test
    void unpairedSurrogateIsRejectedNotReplaced() {
        assertThatThrownBy(() -> tokenizer.toTokens(List.of("fine 🙂", "a\uD800b"), true, PaddingSide.RIGHT))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("text 1 is not valid Unicode: unpaired surrogate U+D800 at char 1");
    }

    @Test
    void badTokenIdsAreRejected() {
        assertThatThrownBy(() -> tokenizer.toString(new long[] {15496, 50257}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id 50257 at [1]")
                .hasMessageContaining("[0, 50257)");
        assertThatThrownBy(() -> tokenizer.toStrTokens(new long[] {-1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id -1 at [0]");
        assertThatThrownBy(() -> tokenizer.toString(new long[][] {{1}, {2, 99999}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id 99999 at [1, 1]");
    }
}
