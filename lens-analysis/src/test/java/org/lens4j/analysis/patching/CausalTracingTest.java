package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.patching.CausalTracing.Kind;
import org.lens4j.analysis.patching.CausalTracing.Trace;
import org.lens4j.core.CachedRun;
import org.lens4j.core.Hook;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/** Causal tracing against a hand-written noisy run and the properties any trace must have. */
class CausalTracingTest {

    private static final double ATOL = 1e-5;
    private static final PatchingOptions QUIET = PatchingOptions.DEFAULT.withProgress(false);
    private static final String MODEL = "gpt2_style_2l";

    private NDManager manager;
    private HookedTransformer model;
    private NDArray prompt;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        model = FixtureModels.load(MODEL, manager);
        prompt = Fixtures.tensors(MODEL, "inputs.safetensors", manager).get("tokens").get(0).get(new NDIndex(":10"));
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    /** The noisy run written out: noise from Random(seed) in [sample][token][d_model] order, then a restore. */
    private double handTraced(int samples, long seed, double std, int start, int end, List<String> hooks, int pos,
            PatchingMetric metric) {
        int d = model.config().dModel();
        Random random = new Random(seed);
        float[] noise = new float[samples * (end - start) * d];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) (std * random.nextGaussian());
        }
        NDArray batch = prompt.reshape(1, -1).repeat(0, samples);
        List<Hook> hooks2 = new ArrayList<>();
        hooks2.add(Hook.of("hook_embed", (emb, hp) -> {
            NDArray out = emb.duplicate();
            NDIndex subject = new NDIndex(":, {}:{}", start, end);
            out.set(subject, emb.get(subject).add(emb.getManager().create(noise, new Shape(samples, end - start, d))));
            return out;
        }));
        try (CachedRun clean = model.runWithCache(batch)) {
            for (String hook : hooks) {
                NDArray state = clean.cache().get(hook);
                hooks2.add(Hook.of(hook, (act, hp) -> {
                    NDArray out = act.duplicate();
                    out.set(new NDIndex(":, {}", pos), state.get(new NDIndex(":, {}", pos)));
                    return out;
                }));
            }
            return metric.value(model.runWithHooks(batch, hooks2.toArray(Hook[]::new)));
        }
    }

    @Test
    void restoringEachBlockOutputMatchesTheHandWrittenTrace() {
        PatchingMetric metric = CausalTracing.answerProbability(13);
        Trace t = CausalTracing.builder(model).samples(4).seed(3).noiseStd(2.0).options(QUIET).build()
                .trace(prompt, 2, 4, metric);
        assertThat(t.scores().axisNames()).containsExactly("layer", "pos");
        assertThat(t.scores().shape()).isEqualTo(new Shape(2, 10));
        for (int[] lp : new int[][] {{0, 2}, {0, 3}, {1, 3}, {0, 6}, {1, 8}}) {
            double expected = handTraced(4, 3, 2.0, 2, 4, List.of("blocks." + lp[0] + ".hook_resid_post"), lp[1], metric);
            assertThat(t.scores().get(lp[0], lp[1])).as("layer %d pos %d", lp[0], lp[1])
                    .isCloseTo(expected, Offset.offset(ATOL));
        }
        // nothing restored: the noisy run; no noise: the clean run
        assertThat(t.corruptedScore()).isCloseTo(handTraced(4, 3, 2.0, 2, 4, List.of(), 0, metric), Offset.offset(ATOL));
        assertThat(t.cleanScore()).isCloseTo(metric.value(model.forward(prompt.reshape(1, -1))), Offset.offset(ATOL));
        // the last block's output at the last position decides the answer alone: fully restored
        assertThat(t.scores().get(1, 9)).isCloseTo(t.cleanScore(), Offset.offset(ATOL));
        // positions before the subject never see the noise
        for (int l = 0; l < 2; l++) {
            for (int p = 0; p < 2; p++) {
                assertThat(t.scores().get(l, p)).isCloseTo(t.corruptedScore(), Offset.offset(ATOL));
            }
        }
        // the noise matters, so the checks above are not trivially met
        assertThat(Math.abs(t.cleanScore() - t.corruptedScore())).isGreaterThan(10 * ATOL);
    }

    @Test
    void aWindowRestoresConsecutiveMlpOutputsCentredOnTheLayer() {
        PatchingMetric metric = CausalTracing.answerProbability(13);
        CausalTracing tracing = CausalTracing.builder(model).samples(3).seed(9).noiseStd(1.5).window(2).kind(Kind.MLP)
                .options(QUIET).build();
        Trace t = tracing.trace(prompt, 1, 3, metric);
        // window 2: layer 0 restores layers [0, 1), layer 1 restores [0, 2)
        assertThat(t.scores().get(0, 2)).isCloseTo(
                handTraced(3, 9, 1.5, 1, 3, List.of("blocks.0.hook_mlp_out"), 2, metric), Offset.offset(ATOL));
        assertThat(t.scores().get(1, 2)).isCloseTo(
                handTraced(3, 9, 1.5, 1, 3, List.of("blocks.0.hook_mlp_out", "blocks.1.hook_mlp_out"), 2, metric),
                Offset.offset(ATOL));
        Trace plain = CausalTracing.builder(model).samples(3).seed(9).noiseStd(1.5).window(2).kind(Kind.MLP)
                .options(QUIET.withFast(false)).build().trace(prompt, 1, 3, metric);
        assertClose("fast vs plain", t.scores().toNDArray(manager), plain.scores().toNDArray(manager), ATOL);
    }

    @Test
    void answerProbabilityIsTheMeanSoftmaxAtTheLastPosition() {
        NDArray logits = manager.randomNormal(new Shape(3, 4, 100));
        double expected = 0;
        for (int b = 0; b < 3; b++) {
            NDArray last = logits.get(b, 3).toType(DataType.FLOAT64, false);
            expected += last.exp().getDouble(17) / last.exp().sum().getDouble() / 3;
        }
        assertThat(CausalTracing.answerProbability(17).value(logits)).isCloseTo(expected, Offset.offset(1e-6));
    }

    @Test
    void theDefaultNoiseIsThreeEmbeddingStandardDeviations() {
        double[] w = model.W_E().toType(DataType.FLOAT64, false).toDoubleArray();
        double mean = java.util.Arrays.stream(w).average().orElseThrow();
        double var = java.util.Arrays.stream(w).map(x -> (x - mean) * (x - mean)).sum() / (w.length - 1);
        assertThat(CausalTracing.embeddingStd(model)).isCloseTo(Math.sqrt(var), Offset.offset(1e-9));
    }

    @Test
    void badInputsAreRefused() {
        CausalTracing tracing = CausalTracing.builder(model).options(QUIET).build();
        PatchingMetric metric = CausalTracing.answerProbability(3);
        assertThatThrownBy(() -> tracing.trace(prompt, 4, 4, metric)).hasMessageContaining("[4, 4)");
        assertThatThrownBy(() -> tracing.trace(prompt, 8, 12, metric)).hasMessageContaining("[8, 12)");
        assertThatThrownBy(() -> tracing.trace(prompt.reshape(2, 5), 0, 1, metric)).hasMessageContaining("one prompt");
        assertThatThrownBy(() -> CausalTracing.builder(model).window(0)).hasMessageContaining("window must be >= 1");
        assertThatThrownBy(() -> CausalTracing.answerProbability(100).value(manager.zeros(new Shape(1, 2, 100))))
                .hasMessageContaining("answer token 100 is out of range");
    }
}
