package org.lens4j.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;

/**
 * Induction, previous-token and duplicate-token scores on heads whose attention is set by a hook to the
 * exact pattern of each kind (known answers), on random-weight models, and bad input.
 */
class HeadScoresTest {

    private static final int N = 10;

    /**
     * Replaces layer 1's pattern: head 0 attends like an induction head, head 1 to the previous token,
     * head 2 to the earlier copy of the current token; other rows attend to BOS. Head 3 is untouched.
     */
    private static NDArray forcedPattern(NDArray act) {
        long[] s = act.getShape().getShape(); // [batch, head, pos, pos]
        int batch = (int) s[0];
        int heads = (int) s[1];
        int pos = (int) s[2];
        float[] a = act.toFloatArray();
        int second = 1 + N;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < 3; h++) {
                for (int i = 0; i < pos; i++) {
                    int row = ((b * heads + h) * pos + i) * pos;
                    java.util.Arrays.fill(a, row, row + pos, 0f);
                    int key = switch (h) {
                        case 0 -> i >= second ? i - N + 1 : 0;
                        case 1 -> Math.max(i - 1, 0);
                        default -> i >= second ? i - N : 0;
                    };
                    a[row + key] = 1f;
                }
            }
        }
        return act.getManager().create(a, new Shape(s));
    }

    @Test
    void headsWithTheExactPatternScoreOne() {
        try (NDManager m = NDManager.newBaseManager();
             HookedTransformer model = HeadDetectorFixtureTest.load("gpt2_style_2l", m)) {
            model.addHook("blocks.1.attn.hook_pattern", (act, hook) -> forcedPattern(act));
            RepeatedTokens rep = RepeatedTokens.builder().segmentLength(N).batchSize(4).seed(3).build();
            HeadScores.Result r = HeadScores.compute(model, rep);
            assertThat(r.induction().get(1, 0)).isCloseTo(1.0, offset(1e-12));
            assertThat(r.previousToken().get(1, 1)).isCloseTo(1.0, offset(1e-12));
            assertThat(r.duplicateToken().get(1, 2)).isCloseTo(1.0, offset(1e-12));
            // the other scores of the forced heads: only row 1 of the BOS-attending rows hits "previous"
            assertThat(r.induction().get(1, 1)).isZero();
            assertThat(r.induction().get(1, 2)).isZero();
            assertThat(r.duplicateToken().get(1, 0)).isZero();
            assertThat(r.previousToken().get(1, 0)).isCloseTo(1.0 / (2 * N), offset(1e-12));
            assertThat(r.induction().argmax()).isEqualTo(new LayerHead(1, 0));
            assertThat(r.induction().name()).isEqualTo("induction");
            List<HeadMetric> metrics = HeadScores.metrics(rep);
            assertThat(metrics.get(0).score(model).toArray()).isDeepEqualTo(r.induction().toArray());
            assertThat(metrics.get(1).score(model).toArray()).isDeepEqualTo(r.previousToken().toArray());
            assertThat(metrics.get(2).score(model).toArray()).isDeepEqualTo(r.duplicateToken().toArray());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void randomlyInitialisedModelsHaveNoInductionHead(int layers) {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(layers).dModel(64).nCtx(48).dHead(16)
                .nHeads(4).dVocab(128).attnOnly(true).actFn("relu").seed(100L + layers).build();
        try (HookedTransformer model = HookedTransformer.init(cfg)) {
            HeadScores.Result r = HeadScores.compute(model, RepeatedTokens.builder().build());
            LayerHead best = r.induction().argmax();
            assertThat(r.induction().get(best)).as("best induction score, at " + best).isLessThanOrEqualTo(0.2);
        }
    }

    @Test
    void repeatedTokensHaveTheDocumentedLayout() {
        try (NDManager m = NDManager.newBaseManager()) {
            RepeatedTokens rep = RepeatedTokens.builder().segmentLength(5).batchSize(3).bos(7).minToken(10).build();
            long[] t = rep.generate(m, 20, new Random(1)).toLongArray();
            assertThat(rep.sequenceLength()).isEqualTo(11);
            for (int b = 0; b < 3; b++) {
                assertThat(t[b * 11]).isEqualTo(7);
                for (int i = 1; i <= 5; i++) {
                    assertThat(t[b * 11 + i]).isBetween(10L, 19L).isEqualTo(t[b * 11 + i + 5]);
                }
            }
            long[] noBos = RepeatedTokens.builder().segmentLength(4).batchSize(1).bos(null).build()
                    .generate(m, 20, new Random(1)).toLongArray();
            assertThat(noBos).hasSize(8);
            assertThat(java.util.Arrays.copyOfRange(noBos, 0, 4)).containsExactly(java.util.Arrays.copyOfRange(noBos, 4, 8));
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessage() {
        try (NDManager m = NDManager.newBaseManager();
             HookedTransformer model = HeadDetectorFixtureTest.load("gpt2_style_2l", m)) {
            NDArray notRepeated = m.create(new long[][] {{0, 1, 2, 3, 1, 2, 4}});
            assertThatThrownBy(() -> HeadScores.compute(model, notRepeated, 3))
                    .hasMessageContaining("row 0").hasMessageContaining("position 6");
            assertThatThrownBy(() -> HeadScores.compute(model, m.create(new long[][] {{0, 1, 1}}), 2))
                    .hasMessageContaining("cannot hold two copies");
            assertThatThrownBy(() -> HeadScores.compute(model, m.create(new long[] {0, 1, 1}), 1))
                    .hasMessageContaining("[batch, pos]");
            assertThatThrownBy(() -> HeadScores.compute(model, RepeatedTokens.builder().minToken(100).build()))
                    .hasMessageContaining("minToken 100").hasMessageContaining("d_vocab 100");
            assertThatThrownBy(() -> HeadScores.compute(model, RepeatedTokens.builder().segmentLength(16).build()))
                    .hasMessageContaining("n_ctx");
        }
        assertThatThrownBy(() -> RepeatedTokens.builder().segmentLength(1).build()).hasMessageContaining("segmentLength");
        assertThatThrownBy(() -> RepeatedTokens.builder().batchSize(0).build()).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> RepeatedTokens.builder().bos(-1).build()).hasMessageContaining("non-negative");
    }
}
