package org.lens4j.analysis.ioi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.ioi.IoiPrompt.Order;
import org.lens4j.core.tokens.Tokenizer;

class IoiDatasetTest {

    private static final long GPT2_BOS = 50256;
    private static Tokenizer tokenizer;
    private static IoiDataset dataset;

    @BeforeAll
    static void open() {
        tokenizer = Gpt2Tokenizer.open();
        dataset = IoiDataset.fromTokenizer(tokenizer).prompts(60).seed(7).build();
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void namesPlacesAndObjectsAreSingleTokensWithALeadingSpace() {
        Set<Long> names = new HashSet<>();
        for (IoiPrompt p : dataset.prompts()) {
            for (long name : new long[] {p.io(), p.s(), p.abcTokens()[p.ioPos()], p.abcTokens()[p.s1Pos()],
                    p.abcTokens()[p.s2Pos()]}) {
                String word = tokenizer.toString(new long[] {name});
                assertThat(word).startsWith(" ");
                assertThat(IoiTemplates.NAMES).contains(word.substring(1));
                assertThat(tokenizer.toTokens(word, false)).containsExactly(name);
                names.add(name);
            }
        }
        // the prompts draw from many of the paper's names, not a handful
        assertThat(names.size()).isGreaterThan(50);
        // the paper's word lists are (nearly all) single GPT-2 tokens
        long singleNames = IoiTemplates.NAMES.stream().filter(n -> tokenizer.toTokens(" " + n, false).length == 1).count();
        assertThat(singleNames).isGreaterThan(90);
        for (String w : java.util.stream.Stream.concat(IoiTemplates.PLACES.stream(), IoiTemplates.OBJECTS.stream()).toList()) {
            assertThat(tokenizer.toTokens(" " + w, false)).as(w).hasSize(1);
        }
    }

    @Test
    void positionsPointAtTheNamesAndEndIsTheLastToken() {
        for (IoiPrompt p : dataset.prompts()) {
            long[] t = p.tokens();
            assertThat(t[0]).isEqualTo(GPT2_BOS);
            assertThat(t[p.ioPos()]).isEqualTo(p.io());
            assertThat(t[p.s1Pos()]).isEqualTo(p.s());
            assertThat(t[p.s2Pos()]).isEqualTo(p.s());
            assertThat(p.io()).isNotEqualTo(p.s());
            assertThat(p.endPos()).isEqualTo(t.length - 1);
            assertThat(tokenizer.toString(new long[] {t[p.endPos()]})).isEqualTo(" to");
            // IO appears once, S twice
            assertThat(Arrays.stream(t).filter(x -> x == p.io()).count()).isEqualTo(1);
            assertThat(Arrays.stream(t).filter(x -> x == p.s()).count()).isEqualTo(2);
            if (p.order() == Order.ABBA) {
                assertThat(p.ioPos()).isLessThan(p.s1Pos());
            } else {
                assertThat(p.s1Pos()).isLessThan(p.ioPos());
            }
            assertThat(p.s2Pos()).isGreaterThan(Math.max(p.ioPos(), p.s1Pos()));
            // the text is what the tokens say
            assertThat(tokenizer.toTokens(p.text(), true)).containsExactly(t);
            assertThat(tokenizer.toTokens(p.abcText(), true)).containsExactly(p.abcTokens());
        }
    }

    /** Prints the examples of docs/ioi.md. */
    @Test
    void printsTheDocsExamples() {
        long names = IoiTemplates.NAMES.stream().filter(n -> tokenizer.toTokens(" " + n, false).length == 1).count();
        System.out.printf("single-token names: %d of %d%n", names, IoiTemplates.NAMES.size());
        for (IoiPrompt p : dataset.prompts().subList(0, 4)) {
            System.out.printf("%s %-3d %s%n      ABC %s%n      IO %d, S1 %d, S2 %d, END %d, answer '%s'%n", p.order(),
                    p.length(), p.text(), p.abcText(), p.ioPos(), p.s1Pos(), p.s2Pos(), p.endPos(),
                    tokenizer.toString(new long[] {p.io()}));
        }
        assertThat(names).isPositive();
    }

    @Test
    void theFirstPromptFollowsTheFirstTemplateInAbbaOrder() {
        IoiPrompt p = dataset.prompts().get(0);
        assertThat(p.template()).isZero();
        assertThat(p.order()).isEqualTo(Order.ABBA);
        Matcher m = Pattern.compile("Then, (\\w+) and (\\w+) went to the (\\w+)\\. (\\w+) gave a (\\w+) to")
                .matcher(p.text());
        assertThat(m.matches()).as(p.text()).isTrue();
        assertThat(" " + m.group(1)).isEqualTo(tokenizer.toString(new long[] {p.io()}));
        assertThat(m.group(2)).isEqualTo(m.group(4));
        assertThat(" " + m.group(2)).isEqualTo(tokenizer.toString(new long[] {p.s()}));
        assertThat(IoiTemplates.PLACES).contains(m.group(3));
        assertThat(IoiTemplates.OBJECTS).contains(m.group(5));
        IoiPrompt q = dataset.prompts().get(1);
        assertThat(q.template()).isZero();
        assertThat(q.order()).isEqualTo(Order.BABA);
        assertThat(q.text()).startsWith("Then, " + tokenizer.toString(new long[] {q.s()}).substring(1) + " and ");
    }

    @Test
    void abbaAndBabaAreBalancedOverEveryTemplate() {
        int templates = IoiTemplates.BABA.size();
        int[][] counts = new int[templates][2];
        for (IoiPrompt p : dataset.prompts()) {
            counts[p.template()][p.order().ordinal()]++;
        }
        for (int t = 0; t < templates; t++) {
            assertThat(counts[t]).as("template %d", t).containsExactly(2, 2);
        }
    }

    @Test
    void abcPromptsHaveThreeDistinctOtherNamesAndTheSameTemplate() {
        for (IoiPrompt p : dataset.prompts()) {
            long[] clean = p.tokens();
            long[] abc = p.abcTokens();
            assertThat(abc).hasSameSizeAs(clean);
            long a = abc[p.ioPos()];
            long b = abc[p.s1Pos()];
            long c = abc[p.s2Pos()];
            assertThat(Set.of(a, b, c)).hasSize(3).doesNotContain(p.io(), p.s());
            for (int i = 0; i < clean.length; i++) {
                if (i != p.ioPos() && i != p.s1Pos() && i != p.s2Pos()) {
                    assertThat(abc[i]).as("position %d", i).isEqualTo(clean[i]);
                }
            }
        }
    }

    @Test
    void theSeedFixesTheDataset() {
        IoiDataset again = IoiDataset.fromTokenizer(tokenizer).prompts(60).seed(7).build();
        IoiDataset other = IoiDataset.fromTokenizer(tokenizer).prompts(60).seed(8).build();
        List<String> texts = dataset.prompts().stream().map(IoiPrompt::text).toList();
        assertThat(again.prompts().stream().map(IoiPrompt::text).toList()).isEqualTo(texts);
        assertThat(other.prompts().stream().map(IoiPrompt::text).toList()).isNotEqualTo(texts);
    }

    @Test
    void batchesGroupPromptsOfOneTemplate() {
        List<IoiBatch> batches = dataset.batches(3);
        List<IoiPrompt> seen = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager()) {
            for (IoiBatch b : batches) {
                assertThat(b.size()).isBetween(1, 3);
                NDArray tokens = b.tokens(m);
                assertThat(tokens.getShape().getShape()).containsExactly(b.size(), b.length());
                assertThat(b.abcTokens(m).getShape()).isEqualTo(tokens.getShape());
                for (int i = 0; i < b.size(); i++) {
                    IoiPrompt p = b.prompts().get(i);
                    assertThat(p.template()).isEqualTo(b.template());
                    assertThat(tokens.get(i).toLongArray()).containsExactly(p.tokens());
                    assertThat(b.answerPairs()[i]).containsExactly(p.io(), p.s());
                }
                seen.addAll(b.prompts());
            }
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(dataset.prompts());
        assertThat(dataset.batches(100)).hasSize(IoiTemplates.BABA.size());
    }

    @Test
    void oneOrderAndNoBos() {
        IoiDataset abba = IoiDataset.fromTokenizer(tokenizer).prompts(15).orders(Order.ABBA).prependBos(false).build();
        for (IoiPrompt p : abba.prompts()) {
            assertThat(p.order()).isEqualTo(Order.ABBA);
            assertThat(p.template()).isEqualTo(abba.prompts().indexOf(p));
            assertThat(p.tokens()[0]).isNotEqualTo(GPT2_BOS);
            assertThat(tokenizer.toTokens(p.text(), false)).containsExactly(p.tokens());
        }
        // without BOS every position is one less
        IoiPrompt withBos = IoiDataset.fromTokenizer(tokenizer).prompts(1).orders(Order.ABBA).build().prompts().get(0);
        IoiPrompt without = abba.prompts().get(0);
        assertThat(without.ioPos()).isEqualTo(withBos.ioPos() - 1);
        assertThat(without.s2Pos()).isEqualTo(withBos.s2Pos() - 1);
    }

    @Test
    void tokenTemplates() {
        IoiDataset toy = IoiDataset.fromTokenIds(List.of("0 5 6 [B] 7 [A] 8 9 [B] 10 11", "0 [B] 7 [A] 12 [B] 11 [A]"),
                20, 30).prompts(40).seed(3).build();
        assertThat(toy.templates()).hasSize(2);
        for (IoiPrompt p : toy.prompts()) {
            assertThat(p.text()).isNull();
            long[] t = p.tokens();
            if (p.template() == 0) {
                assertThat(t).hasSize(11);
                assertThat(new long[] {t[0], t[1], t[2], t[4], t[6], t[7], t[9], t[10]})
                        .containsExactly(0, 5, 6, 7, 8, 9, 10, 11);
                assertThat(p.s2Pos()).isEqualTo(8);
                assertThat(p.order() == Order.ABBA ? p.ioPos() : p.s1Pos()).isEqualTo(3);
            } else {
                assertThat(t).hasSize(7);
                assertThat(p.s2Pos()).isEqualTo(5);
                assertThat(p.endPos()).isEqualTo(6);
            }
            assertThat(p.io()).isBetween(20L, 29L);
            assertThat(p.s()).isBetween(20L, 29L);
        }
    }

    @Test
    void malformedTemplatesAreRefusedWithTheTemplateNamed() {
        assertThatThrownBy(() -> text("Then, [B] and [C] went. [B] gave to"))
                .hasMessageContaining("unknown slot [C]").hasMessageContaining("Then, [B] and [C]");
        assertThatThrownBy(() -> text("Then, [B] and John went. [B] gave to"))
                .hasMessageContaining("must name [B], [A], [B]");
        assertThatThrownBy(() -> text("Then, [A] and [B] went. [B] gave to"))
                .hasMessageContaining("BABA form");
        assertThatThrownBy(() -> text("Then,[B] and [A] went. [B] gave to"))
                .hasMessageContaining("slot [B] at character 5 must follow a space");
        assertThatThrownBy(() -> text("Then, [B] and [A] went. [B] gave to [B]"))
                .hasMessageContaining("must name [B], [A], [B]");
        assertThatThrownBy(() -> text("Then, [B] and [A] went, [B]"))
                .hasMessageContaining("must end with a word after the last slot");
        assertThatThrownBy(() -> IoiDataset.fromTokenIds(List.of("0 5 [B] 7 [A] 8 [B] 25"), 20, 30).build())
                .hasMessageContaining("token id 25 is in the name range [20, 30)");
        assertThatThrownBy(() -> IoiDataset.fromTokenIds(List.of("0 5 [B] x [A] 8 [B] 9"), 20, 30).build())
                .hasMessageContaining("'x' is neither a token id nor [A] / [B]");
        assertThatThrownBy(() -> IoiDataset.fromTokenIds(List.of("0 [PLACE] [B] 7 [A] 8 [B] 9"), 20, 30).build())
                .hasMessageContaining("only [A] and [B] slots");
    }

    @Test
    void badOptionsAreRefused() {
        assertThatThrownBy(() -> IoiDataset.fromTokenIds(List.of("0 [B] 7 [A] 8 [B] 9"), 20, 24))
                .hasMessageContaining("at least 5 names");
        assertThatThrownBy(() -> IoiDataset.fromTokenizer(tokenizer).names(List.of("Mary", "John", "Xyzzyqwv")).build())
                .hasMessageContaining("at least 5 names").hasMessageContaining("have 2");
        assertThatThrownBy(() -> IoiDataset.fromTokenizer(tokenizer).places(List.of()).build())
                .hasMessageContaining("needs places");
        assertThatThrownBy(() -> IoiDataset.fromTokenizer(tokenizer).prompts(0)).hasMessageContaining("prompts must be >= 1");
        assertThatThrownBy(() -> IoiDataset.fromTokenizer(tokenizer).orders()).hasMessageContaining("one or both");
        assertThatThrownBy(() -> IoiDataset.fromTokenizer(tokenizer).orders(Order.ABBA, Order.ABBA))
                .hasMessageContaining("without repeats");
        assertThatThrownBy(() -> dataset.batches(0)).hasMessageContaining("maxBatchSize must be >= 1");
        assertThatThrownBy(() -> IoiDataset.fromTokenizer(tokenizer).templates(List.of())).hasMessageContaining("templates is empty");
    }

    @Test
    void promptRecordsCheckTheirPositions() {
        long[] t = {0, 5, 20, 7, 21, 8, 21, 9};
        IoiPrompt ok = new IoiPrompt(0, Order.ABBA, t, t, 20, 21, 2, 4, 6, 7, null, null);
        assertThat(ok).isEqualTo(new IoiPrompt(0, Order.ABBA, t.clone(), t.clone(), 20, 21, 2, 4, 6, 7, null, null));
        assertThat(ok.toString()).isEqualTo("IoiPrompt(ABBA, template 0, [0, 5, 20, 7, 21, 8, 21, 9], IO 20 at 2, "
                + "S 21 at 4 and 6, END 7)");
        assertThatThrownBy(() -> new IoiPrompt(0, Order.ABBA, t, t, 20, 21, 3, 4, 6, 7, null, null))
                .hasMessageContaining("positions IO 3, S1 4, S2 6, END 7 do not fit the prompt");
        assertThatThrownBy(() -> new IoiPrompt(0, Order.ABBA, t, t, 20, 21, 2, 4, 9, 7, null, null))
                .hasMessageContaining("do not fit the prompt");
        assertThatThrownBy(() -> new IoiPrompt(0, Order.ABBA, t, new long[3], 20, 21, 2, 4, 6, 7, null, null))
                .hasMessageContaining("ABC prompt has 3 tokens, clean prompt 8");
    }

    private static IoiDataset text(String template) {
        return IoiDataset.fromTokenizer(tokenizer).templates(List.of(template)).prompts(2).build();
    }
}
