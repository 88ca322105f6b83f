package org.lens4j.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;

/**
 * The other facts TransformerLens's head-detector tests assert (spec 14.4), the options, and every
 * kind of bad input. The model is the gpt2_style_2l fixture (2 layers x 4 heads, n_ctx 32).
 */
class HeadDetectorTest {

    private static NDManager m;
    private static HookedTransformer model;

    @BeforeAll
    static void load() {
        m = NDManager.newBaseManager();
        model = HeadDetectorFixtureTest.load("gpt2_style_2l", m);
    }

    @AfterAll
    static void close() {
        model.close();
        m.close();
    }

    /** BOS then "seven token sequence" twice: [0, a, b, c, a, b, c]. */
    private static long[] repeated7() {
        return new long[] {0, 11, 12, 13, 11, 12, 13};
    }

    @Test
    void builtInPatternsHaveTransformerLensShapesAndSums() {
        long[] four = {0, 21, 22, 23};
        assertThat(HeadPattern.PREVIOUS_TOKEN_HEAD.of(four, m).getShape()).isEqualTo(new Shape(4, 4));
        assertThat(HeadPattern.PREVIOUS_TOKEN_HEAD.of(four, m).sum().getFloat()).isEqualTo(3f);
        NDArray prev = HeadPattern.PREVIOUS_TOKEN_HEAD.of(repeated7(), m);
        assertThat(prev.getShape()).isEqualTo(new Shape(7, 7));
        assertThat(prev.sum().getFloat()).isEqualTo(6f);
        assertThat(prev.get(new NDIndex("1:, :-1"))).isEqualTo(m.eye(6));

        NDArray dup = HeadPattern.DUPLICATE_TOKEN_HEAD.of(repeated7(), m);
        assertThat(dup.sum().getFloat()).isEqualTo(3f);
        assertThat(dup.get(new NDIndex("4:, 1:4"))).isEqualTo(m.eye(3));

        NDArray ind = HeadPattern.INDUCTION_HEAD.of(repeated7(), m);
        assertThat(ind.sum().getFloat()).isEqualTo(3f);
        assertThat(ind.get(new NDIndex("4:, 2:5"))).isEqualTo(m.eye(3));
    }

    @Test
    void inductionPatternKeepsTheDiagonalForRepeatedNeighboursAsTransformerLensDoes() {
        // " 2 2 2 ...": tokens[i-1] == tokens[i] puts a 1 on the diagonal after the shift
        NDArray ind = HeadPattern.INDUCTION_HEAD.of(new long[] {0, 5, 5, 5}, m);
        float[] expected = {
            0, 0, 0, 0,
            0, 0, 0, 0,
            0, 0, 1, 0,
            0, 0, 1, 1};
        assertThat(ind.toFloatArray()).containsExactly(expected);
    }

    @Test
    void sequenceWithoutRepeatsScoresZeroOnDuplicateAndInduction() {
        NDArray tokens = m.create(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        for (HeadPattern p : List.of(HeadPattern.DUPLICATE_TOKEN_HEAD, HeadPattern.INDUCTION_HEAD)) {
            for (ErrorMeasure e : ErrorMeasure.values()) {
                LayerHeadScores s = HeadDetector.detectHead(model, tokens, p,
                        DetectOptions.builder().errorMeasure(e).build());
                for (double[] row : s.toArray()) {
                    assertThat(row).as(p + " " + e).containsOnly(0.0);
                }
            }
        }
    }

    @Test
    void selectedHeadsKeepTheirScoreAndTheOthersGetMinusOne() {
        NDArray tokens = m.create(repeated7());
        LayerHeadScores all = HeadDetector.detectHead(model, tokens, HeadPattern.PREVIOUS_TOKEN_HEAD);
        LayerHeadScores one = HeadDetector.detectHead(model, tokens, HeadPattern.PREVIOUS_TOKEN_HEAD,
                DetectOptions.builder().heads(List.of(new LayerHead(0, 0))).build());
        assertThat(one.get(0, 0)).isEqualTo(all.get(0, 0));
        double sum = 0;
        for (double[] row : one.toArray()) {
            for (double v : row) {
                sum += v;
            }
        }
        assertThat(sum).isEqualTo(all.get(0, 0) - 7);
        LayerHeadScores byLayer = HeadDetector.detectHead(model, tokens, HeadPattern.PREVIOUS_TOKEN_HEAD,
                DetectOptions.builder().heads(Map.of(1, List.of(2, 3))).build());
        assertThat(byLayer.get(1, 2)).isEqualTo(all.get(1, 2));
        assertThat(byLayer.get(1, 3)).isEqualTo(all.get(1, 3));
        assertThat(byLayer.get(0, 2)).isEqualTo(-1);
    }

    @Test
    void customPatternEqualToABuiltInGivesTheSameScores() {
        NDArray tokens = m.create(repeated7());
        DetectOptions abs = DetectOptions.builder().errorMeasure(ErrorMeasure.ABS).excludeBos(true).build();
        LayerHeadScores builtIn = HeadDetector.detectHead(model, tokens, "induction_head", abs);
        LayerHeadScores custom = HeadDetector.detectHead(model, tokens,
                HeadPattern.INDUCTION_HEAD.of(repeated7(), m), abs);
        assertThat(custom.toArray()).isDeepEqualTo(builtIn.toArray());
        assertThat(custom.name()).isEqualTo("custom/abs");
        assertThat(builtIn.name()).isEqualTo("induction_head/abs");
    }

    @Test
    void mulScoreIsTheFractionOfAttentionOnThePattern() {
        // independent check on one head: sum(A * D) / sum(A) from the cached pattern
        long[] seq = repeated7();
        NDArray tokens = m.create(new long[][] {seq});
        try (CachedRun run = model.runWithCache(tokens)) {
            float[] a = run.cache().get("pattern", 1).get(new NDIndex("0, 2")).toFloatArray();
            double onPattern = 0;
            double total = 0;
            for (int i = 0; i < 7; i++) {
                for (int j = 0; j <= i; j++) {
                    // exclude_bos and exclude_current_token remove column 0 and the diagonal
                    if (j == 0 || j == i) {
                        continue;
                    }
                    total += a[i * 7 + j];
                    if (j == i - 1) {
                        onPattern += a[i * 7 + j];
                    }
                }
            }
            LayerHeadScores s = HeadDetector.detectHead(model, tokens, HeadPattern.PREVIOUS_TOKEN_HEAD,
                    DetectOptions.builder().excludeBos(true).excludeCurrentToken(true).build());
            assertThat(s.get(1, 2)).isCloseTo(onPattern / total, org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void suppliedCacheGivesTheSameScoresAndIsNotModified() {
        NDArray tokens = m.create(new long[][] {repeated7()});
        DetectOptions plain = DetectOptions.builder().excludeBos(true).excludeCurrentToken(true).build();
        LayerHeadScores fresh = HeadDetector.detectHead(model, tokens, HeadPattern.DUPLICATE_TOKEN_HEAD, plain);
        try (CachedRun run = model.runWithCache(tokens)) {
            NDArray before = run.cache().get("pattern", 0).duplicate();
            DetectOptions withCache = DetectOptions.builder().excludeBos(true).excludeCurrentToken(true)
                    .cache(run.cache()).build();
            LayerHeadScores cached = HeadDetector.detectHead(model, tokens, HeadPattern.DUPLICATE_TOKEN_HEAD, withCache);
            assertThat(cached.toArray()).isDeepEqualTo(fresh.toArray());
            assertThat(run.cache().get("pattern", 0)).isEqualTo(before);
            run.cache().removeBatchDim();
            LayerHeadScores noBatch = HeadDetector.detectHead(model, tokens, HeadPattern.DUPLICATE_TOKEN_HEAD, withCache);
            assertThat(noBatch.toArray()).isDeepEqualTo(fresh.toArray());
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessage() {
        NDArray seq = m.create(repeated7());
        // to_tokens("") is BOS alone: one token
        assertThatThrownBy(() -> HeadDetector.detectHead(model, m.create(new long[] {0}), HeadPattern.PREVIOUS_TOKEN_HEAD))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be non-empty").hasMessageContaining("1 tokens");
        // TransformerLens needs fewer than n_ctx (32) tokens
        assertThatThrownBy(() -> HeadDetector.detectHead(model, m.zeros(new Shape(32), DataType.INT64),
                HeadPattern.PREVIOUS_TOKEN_HEAD)).hasMessageContaining("context window").hasMessageContaining("32 tokens");
        assertThatThrownBy(() -> HeadDetector.detectHead(model, seq, m.ones(new Shape(7, 7)), DetectOptions.DEFAULT))
                .hasMessageContaining("lower triangular").hasMessageContaining("above the diagonal");
        assertThatThrownBy(() -> HeadDetector.detectHead(model, seq, m.zeros(new Shape(6, 6)), DetectOptions.DEFAULT))
                .hasMessageContaining("sequence_length=7").hasMessageContaining("(6, 6)");
        assertThatThrownBy(() -> HeadDetector.detectHead(model, seq, "copying_head", DetectOptions.DEFAULT))
                .hasMessageContaining("copying_head").hasMessageContaining("induction_head");
        assertThatThrownBy(() -> HeadDetector.detectHead(model, seq, HeadPattern.INDUCTION_HEAD,
                DetectOptions.builder().heads(List.of(new LayerHead(2, 0))).build())).hasMessageContaining("L2H0");
        assertThatThrownBy(() -> HeadDetector.detectHead(model, m.create(new long[][] {{0, 1}, {0, 2}}),
                HeadPattern.INDUCTION_HEAD)).hasMessageContaining("one token sequence").hasMessageContaining("List");
        assertThatThrownBy(() -> HeadDetector.detectHead(model, List.of(), HeadPattern.INDUCTION_HEAD, DetectOptions.DEFAULT))
                .hasMessageContaining("at least one sequence");
        assertThatThrownBy(() -> ErrorMeasure.fromName("squared")).hasMessageContaining("squared");
        try (CachedRun other = model.runWithCache(m.create(new long[][] {{0, 1, 2}}))) {
            assertThatThrownBy(() -> HeadDetector.detectHead(model, seq, HeadPattern.INDUCTION_HEAD,
                    DetectOptions.builder().cache(other.cache()).build()))
                    .hasMessageContaining("blocks.0.attn.hook_pattern").hasMessageContaining("7 tokens");
        }
    }

    @Test
    void absMeasureRefusesANonCausalModel() {
        HookedTransformerConfig cfg = model.config().toBuilder().causal(false).build();
        try (HookedTransformer bidirectional = HookedTransformer.fromStateDict(cfg, copyOfWeights())) {
            NDArray seq = m.create(repeated7());
            assertThatThrownBy(() -> HeadDetector.detectHead(bidirectional, seq, HeadPattern.PREVIOUS_TOKEN_HEAD,
                    DetectOptions.builder().errorMeasure(ErrorMeasure.ABS).build()))
                    .hasMessageContaining("L0H0").hasMessageContaining("not lower triangular");
        }
    }

    private static Map<String, NDArray> copyOfWeights() {
        Map<String, NDArray> copy = new java.util.LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> copy.put(k, v.duplicate()));
        return copy;
    }
}
