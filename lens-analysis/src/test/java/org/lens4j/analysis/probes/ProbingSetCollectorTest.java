package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookException;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/** Activations collected for probing are TransformerLens's, at the right rows, with the right labels. */
class ProbingSetCollectorTest {

    private static final String MODEL = "gpt2_style_2l";

    private NDManager manager;
    private HookedTransformer model;
    private long[][] tokens;
    private Map<String, NDArray> reference;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        model = HookedTransformer.fromStateDict(Fixtures.config(MODEL, "model/config.json"),
                Fixtures.tensors(MODEL, "model/weights.safetensors", manager));
        NDArray t = Fixtures.tensors(MODEL, "inputs.safetensors", manager).get("tokens");
        tokens = new long[(int) t.getShape().get(0)][];
        for (int b = 0; b < tokens.length; b++) {
            tokens[b] = t.get(b).toLongArray();
        }
        reference = Fixtures.tensors(MODEL, "outputs.safetensors", manager);
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    /** Every row equals TransformerLens's cached activation at its (sequence, position), flattened. */
    private void assertRowsMatchReference(ProbingSet set, String hook) {
        NDArray expected = reference.get("cache." + hook);
        int pos = (int) expected.getShape().get(1);
        int dim = (int) (expected.getShape().size() / (expected.getShape().get(0) * pos));
        float[] values = expected.toFloatArray();
        assertThat(set.dim()).as(hook + " dim").isEqualTo(dim);
        double worst = 0;
        for (int i = 0; i < set.size(); i++) {
            int offset = (set.sequences()[i] * pos + set.positions()[i]) * dim;
            for (int j = 0; j < dim; j++) {
                worst = Math.max(worst, Math.abs(set.get(i, j) - values[offset + j]));
            }
        }
        assertThat(worst).as(hook + ": max abs diff to TransformerLens").isLessThanOrEqualTo(1e-5);
    }

    private static void assertRowClose(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int j = 0; j < actual.length; j++) {
            assertThat(actual[j]).as("component " + j).isCloseTo(expected[j], within(1e-5f));
        }
    }

    @Test
    void activationsAtAnyPerPositionHookMatchTransformerLens() {
        for (String hook : List.of("blocks.1.hook_resid_post", "blocks.0.mlp.hook_post", "blocks.1.attn.hook_z",
                "blocks.0.hook_attn_out", "hook_embed", "ln_final.hook_normalized", "blocks.1.ln2.hook_scale")) {
            ProbingSet set = new ProbingSetCollector(model, hook, TokenFeature.seenBefore())
                    .positions(Positions.from(1)).batchSize(2).collect(tokens);
            assertThat(set.hook()).isEqualTo(hook);
            assertThat(set.size()).as(hook).isEqualTo(tokens.length * (tokens[0].length - 1));
            assertRowsMatchReference(set, hook);
        }
    }

    @Test
    void rowsCarryTheirSequencePositionAndLabel() {
        ProbingSet set = new ProbingSetCollector(model, "blocks.1.hook_resid_post", TokenFeature.seenBefore())
                .positions(Positions.of(0, 5, -1)).collect(tokens);
        assertThat(set.size()).isEqualTo(3 * tokens.length);
        for (int i = 0; i < set.size(); i++) {
            int b = set.sequences()[i];
            int p = set.positions()[i];
            assertThat(p).isIn(0, 5, tokens[b].length - 1);
            assertThat(set.labels()[i]).isEqualTo(TokenFeature.seenBefore().labels(tokens[b])[p]);
        }
        assertRowsMatchReference(set, "blocks.1.hook_resid_post");
    }

    @Test
    void skippedPositionsAndRaggedBatchesAreHandled() {
        // a feature that leaves out odd positions; sequences of three lengths, in mixed order
        TokenFeature evenOnly = new TokenFeature() {
            @Override
            public String name() {
                return "even-token";
            }

            @Override
            public List<String> classNames() {
                return List.of("odd id", "even id");
            }

            @Override
            public int[] labels(long[] t) {
                int[] l = new int[t.length];
                for (int p = 0; p < t.length; p++) {
                    l[p] = p % 2 == 1 ? SKIP : (int) (1 - t[p] % 2);
                }
                return l;
            }
        };
        long[][] ragged = {tokens[0], java.util.Arrays.copyOf(tokens[1], 9), java.util.Arrays.copyOf(tokens[2], 9),
                java.util.Arrays.copyOf(tokens[0], 4)};
        ProbingSet set = new ProbingSetCollector(model, "blocks.0.hook_resid_post", evenOnly).batchSize(8)
                .collect(ragged);
        assertThat(set.size()).isEqualTo(8 + 5 + 5 + 2);
        assertThat(java.util.Arrays.stream(set.positions()).allMatch(p -> p % 2 == 0)).isTrue();
        // a causal model: the activation at a position only depends on the tokens up to it
        assertRowsMatchReference(set.subset(java.util.stream.IntStream.range(0, set.size())
                .filter(i -> set.sequences()[i] < 3).toArray()), "blocks.0.hook_resid_post");
        for (int i = 0; i < set.size(); i++) {
            if (set.sequences()[i] == 3) {
                assertRowClose(set.row(i), set.row(i - 13 - 5));
            }
        }
    }

    @Test
    void textsAreTokenisedWithTheModelsTokenizer() throws IOException {
        try (HookedTransformer noBos = HookedTransformer.fromStateDict(
                Fixtures.config(MODEL, "model/config.json").toBuilder().defaultPrependBos(false).build(),
                Fixtures.tensors(MODEL, "model/weights.safetensors", manager))) {
            noBos.setTokenizer(TestResources.intsTokenizer());
            List<String> texts = List.of("3 14 15 92 65 35", "8 9 7 9");
            ProbingSet set = new ProbingSetCollector(noBos, "blocks.0.hook_resid_post",
                    TokenFeature.regex("^\\d$", noBos.tokenizer())).collectTexts(texts);
            assertThat(set.labels()).containsExactly(1, 0, 0, 0, 0, 0, 1, 1, 1, 1);
            assertThat(set.sequences()).containsExactly(0, 0, 0, 0, 0, 0, 1, 1, 1, 1);
            ProbingSet fromIds = new ProbingSetCollector(noBos, "blocks.0.hook_resid_post",
                    TokenFeature.tokenMatches("one digit", t -> t < 10))
                    .collect(new long[][] {{3, 14, 15, 92, 65, 35}, {8, 9, 7, 9}});
            for (int i = 0; i < set.size(); i++) {
                assertRowClose(set.row(i), fromIds.row(i));
            }
        }
        assertThatThrownBy(() -> new ProbingSetCollector(model, "blocks.0.hook_resid_post", TokenFeature.seenBefore())
                .collectTexts(List.of("1 2")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("needs a tokenizer");
    }

    @Test
    void theBatchSizeDoesNotChangeTheSet() {
        ProbingSet one = new ProbingSetCollector(model, "blocks.1.hook_mlp_out", TokenFeature.seenBefore())
                .batchSize(1).collect(tokens);
        ProbingSet all = new ProbingSetCollector(model, "blocks.1.hook_mlp_out", TokenFeature.seenBefore())
                .batchSize(64).collect(manager.create(tokens));
        assertThat(one.labels()).containsExactly(all.labels());
        for (int i = 0; i < one.size(); i++) {
            assertRowClose(one.row(i), all.row(i));
        }
        ProbingSet shorthand = new ProbingSetCollector(model, "z1", TokenFeature.seenBefore()).collect(tokens);
        assertThat(shorthand.hook()).isEqualTo("blocks.1.attn.hook_z");
    }

    @Test
    void badRequestsAreNamed() {
        assertThatThrownBy(() -> new ProbingSetCollector(model, "blocks.0.attn.hook_pattern", TokenFeature.seenBefore()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("per (query, key) pair");
        assertThatThrownBy(() -> new ProbingSetCollector(model, "blocks.0.hook_resid_psot", TokenFeature.seenBefore()))
                .isInstanceOf(HookException.class).hasMessageContaining("blocks.0.hook_resid_post");
        assertThatThrownBy(() -> new ProbingSetCollector(model, "blocks.0.attn.hook_result", TokenFeature.seenBefore())
                .collect(tokens))
                .isInstanceOf(HookException.class).hasMessageContaining("setUseAttnResult");
        TokenFeature broken = TokenFeature.binary("broken", (t, p) -> true);
        TokenFeature short1 = new TokenFeature() {
            @Override
            public String name() {
                return "short";
            }

            @Override
            public List<String> classNames() {
                return broken.classNames();
            }

            @Override
            public int[] labels(long[] t) {
                return new int[t.length - 1];
            }
        };
        assertThatThrownBy(() -> new ProbingSetCollector(model, "blocks.0.hook_resid_post", short1).collect(tokens))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("feature 'short' gave 15 labels for sequence 0 of 16 tokens");
        assertThatThrownBy(() -> new ProbingSetCollector(model, "blocks.0.hook_resid_post", TokenFeature.seenBefore())
                .positions(Positions.of(20)).collect(tokens))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("position 20 does not exist");
        assertThatThrownBy(() -> new ProbingSetCollector(model, "blocks.0.hook_resid_post", TokenFeature.seenBefore())
                .collect(new long[][] {{1, 2, 300}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token id 300");
    }
}
