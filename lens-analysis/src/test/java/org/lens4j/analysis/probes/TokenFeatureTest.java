package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lens4j.core.tokens.Tokenizer;

/** Built-in features and their parsing. */
class TokenFeatureTest {

    @Test
    void seenBeforeMatchesABruteForceSearch() {
        Random rng = new Random(0);
        for (int trial = 0; trial < 50; trial++) {
            long[] tokens = rng.longs(1 + rng.nextInt(40), 0, 12).toArray();
            int[] labels = TokenFeature.seenBefore().labels(tokens);
            for (int p = 0; p < tokens.length; p++) {
                boolean earlier = false;
                for (int q = 0; q < p; q++) {
                    earlier |= tokens[q] == tokens[p];
                }
                assertThat(labels[p]).as("trial " + trial + " position " + p).isEqualTo(earlier ? 1 : 0);
            }
        }
        assertThat(TokenFeature.seenBefore().classNames()).containsExactly("not seen-before", "seen-before");
    }

    @Test
    void tokenPredicates() {
        long[] tokens = {0, 5, 7, 0, 9};
        assertThat(TokenFeature.isBos(0).labels(tokens)).containsExactly(1, 0, 0, 1, 0);
        assertThat(TokenFeature.tokenIn(7, 9).labels(tokens)).containsExactly(0, 0, 1, 0, 1);
        assertThat(TokenFeature.tokenIn(7, 9).name()).isEqualTo("token-in:7,9");
        assertThat(TokenFeature.tokenMatches("odd", t -> t % 2 == 1).labels(tokens)).containsExactly(0, 1, 1, 0, 1);
        assertThat(TokenFeature.binary("after-bos", (t, p) -> p > 0 && t[p - 1] == 0).labels(tokens))
                .containsExactly(0, 1, 0, 0, 1);
    }

    @Test
    void regexOnStringTokens() throws IOException {
        try (Tokenizer tokenizer = TestResources.intsTokenizer()) {
            long[] tokens = {3, 14, 15, 92, 65, 7};
            // one-digit tokens, on the decoded strings "3", "14", ...
            assertThat(TokenFeature.regex("^\\d$", tokenizer).labels(tokens)).containsExactly(1, 0, 0, 0, 0, 1);
            assertThat(TokenFeature.parse("^\\d$", tokenizer).labels(tokens)).containsExactly(1, 0, 0, 0, 0, 1);
            assertThat(TokenFeature.parse("regex:5", tokenizer).labels(tokens)).containsExactly(0, 0, 1, 0, 1, 0);
            assertThatThrownBy(() -> TokenFeature.parse("regex:(", tokenizer))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label regex '(' is invalid");
        }
    }

    @Test
    void firstOfMakesAMultiClassFeature() {
        TokenFeature f = TokenFeature.firstOf(List.of(TokenFeature.isBos(0), TokenFeature.seenBefore(),
                TokenFeature.tokenIn(7)));
        assertThat(f.classNames()).containsExactly("is-bos", "seen-before", "token-in:7", "none");
        // BOS wins over seen-before at position 3; 7 at position 4 was seen before
        assertThat(f.labels(new long[] {0, 5, 7, 0, 7, 8})).containsExactly(0, 3, 2, 0, 1, 3);
        assertThatThrownBy(() -> TokenFeature.firstOf(List.of(f)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("binary features");
        assertThatThrownBy(() -> TokenFeature.firstOf(List.of(TokenFeature.seenBefore(), TokenFeature.seenBefore())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("different names");
    }

    @Test
    void parsingBuiltIns() {
        assertThat(TokenFeature.parse("seen-before", null).name()).isEqualTo("seen-before");
        assertThat(TokenFeature.parse("is-bos:3", null).labels(new long[] {3, 4})).containsExactly(1, 0);
        assertThat(TokenFeature.parse("token-in:1, 2", null).labels(new long[] {2, 3, 1})).containsExactly(1, 0, 1);
        assertThatThrownBy(() -> TokenFeature.parse("token-in:1,x", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'1,x' is not a comma-separated list");
        assertThatThrownBy(() -> TokenFeature.parse("is-bos", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is-bos:<id>");
        assertThatThrownBy(() -> TokenFeature.parse("^\\d+$", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no tokenizer")
                .hasMessageContaining("seen-before");
    }

    @Test
    void positions() {
        assertThat(Positions.all().select(3)).containsExactly(0, 1, 2);
        assertThat(Positions.from(1).select(3)).containsExactly(1, 2);
        assertThat(Positions.last().select(3)).containsExactly(2);
        assertThat(Positions.of(2, -1, 0).select(3)).containsExactly(0, 2);
        assertThat(Positions.parse("from:2").select(4)).containsExactly(2, 3);
        assertThat(Positions.parse("1, -2").select(5)).containsExactly(1, 3);
        assertThat(Positions.parse("last").toString()).isEqualTo("last");
        assertThat(Positions.parse("all").toString()).isEqualTo("all");
        assertThatThrownBy(() -> Positions.of(5).select(3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("position 5 does not exist");
        assertThatThrownBy(() -> Positions.from(3).select(3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only 3 positions");
        assertThatThrownBy(() -> Positions.parse("first"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positions 'first'");
    }
}
