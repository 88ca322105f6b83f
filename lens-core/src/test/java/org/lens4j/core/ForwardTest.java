package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.testing.Fixtures;

/** Forward-pass options, input checks, padding masks and gradients. */
class ForwardTest {

    private static final String MODEL = "gpt2_style_2l";

    private NDManager manager;
    private HookedTransformer model;
    private NDArray tokens;
    private Map<String, NDArray> expected;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        model = Fixtures.model(MODEL, manager);
        tokens = Fixtures.tensors(MODEL, "inputs.safetensors", manager).get("tokens");
        expected = Fixtures.tensors(MODEL, "outputs.safetensors", manager);
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    @Test
    void stopAtLayerReturnsTheResidualBeforeThatBlock() {
        Output zero = model.run(tokens, ForwardOptions.builder().stopAtLayer(0).build());
        assertClose("stop 0 = resid_pre 0", zero.residual(), expected.get("cache.blocks.0.hook_resid_pre"), 1e-5);
        assertThat(zero.logits()).isNull();
        Output last = model.run(tokens, ForwardOptions.builder().stopAtLayer(-1).build());
        assertClose("stop -1 = resid_pre 1", last.residual(), expected.get("cache.blocks.1.hook_resid_pre"), 1e-5);
    }

    @Test
    void startAtLayerContinuesFromAResidual() {
        NDArray residual = expected.get("cache.blocks.1.hook_resid_pre");
        Output out = model.run(residual, ForwardOptions.builder().startAtLayer(1).tokens(tokens)
                .returnType(ReturnType.BOTH).build());
        assertClose("logits", out.logits(), expected.get("logits"), 1e-5);
        assertClose("loss", out.loss(), expected.get("loss"), 1e-5);
        assertThatThrownBy(() -> model.run(tokens, ForwardOptions.builder().startAtLayer(1).build()))
                .hasMessageContaining("residual stream");
        assertThatThrownBy(() -> model.run(residual, ForwardOptions.builder().startAtLayer(1)
                .returnType(ReturnType.LOSS).build())).hasMessageContaining("tokens");
        assertThatThrownBy(() -> model.run(residual, ForwardOptions.builder().startAtLayer(5).build()))
                .hasMessageContaining("startAtLayer 5");
    }

    @Test
    void oneDimensionalTokensGetABatchAxis() {
        NDArray row = tokens.get(0);
        assertClose("1-D input", model.forward(row), expected.get("logits").get(new NDIndex("0:1")), 1e-5);
    }

    @Test
    void badInputsAreRejectedClearly() {
        NDArray tooLong = manager.zeros(new Shape(1, 33), DataType.INT64);
        assertThatThrownBy(() -> model.forward(tooLong)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("33 tokens").hasMessageContaining("n_ctx = 32");
        NDArray bad = manager.create(new long[][] {{1, 2, 100, 3}});
        assertThatThrownBy(() -> model.forward(bad)).hasMessageContaining("token id 100 at [0, 2]")
                .hasMessageContaining("d_vocab = 100");
        NDArray negative = manager.create(new long[][] {{1, -1}});
        assertThatThrownBy(() -> model.forward(negative)).hasMessageContaining("token id -1");
        NDArray floats = manager.create(new float[][] {{1, 2}});
        assertThatThrownBy(() -> model.forward(floats)).hasMessageContaining("integers");
        NDArray mask = manager.ones(new Shape(3, 15), DataType.INT64);
        assertThatThrownBy(() -> model.run(tokens, ForwardOptions.builder().attentionMask(mask).build()))
                .hasMessageContaining("attention mask has shape (3, 15)");
    }

    /** Real tokens of a padded row must get exactly the logits of the unpadded sequence. */
    @Test
    void rightAndLeftPaddingAreMasked() {
        long[] real = tokens.get(0).get(new NDIndex("0:10")).toLongArray();
        NDArray alone = model.forward(manager.create(new long[][] {real}));
        NDArray aloneLoss = model.loss(manager.create(new long[][] {real}));
        long pad = 99;
        long[][] right = new long[2][16];
        long[][] left = new long[2][16];
        long[][] rightMask = new long[2][16];
        long[][] leftMask = new long[2][16];
        for (int p = 0; p < 16; p++) {
            right[0][p] = p < 10 ? real[p] : pad;
            rightMask[0][p] = p < 10 ? 1 : 0;
            left[0][p] = p < 6 ? pad : real[p - 6];
            leftMask[0][p] = p < 6 ? 0 : 1;
            right[1][p] = tokens.get(1).get(p).getLong();
            left[1][p] = right[1][p];
            rightMask[1][p] = 1;
            leftMask[1][p] = 1;
        }
        Output r = model.run(manager.create(right), ForwardOptions.builder().returnType(ReturnType.BOTH)
                .lossPerToken(true).attentionMask(manager.create(rightMask)).build());
        assertClose("right-padded real positions", r.logits().get(new NDIndex("0:1, 0:10")), alone, 1e-5);
        assertClose("unpadded row unchanged", r.logits().get(new NDIndex("1")), expected.get("logits").get(1), 1e-5);
        assertThat(r.loss().get(new NDIndex("0, 9:")).abs().sum().getFloat()).as("pad pairs carry no loss").isZero();

        Output l = model.run(manager.create(left), ForwardOptions.builder().returnType(ReturnType.LOGITS)
                .attentionMask(manager.create(leftMask)).build());
        assertClose("left-padded real positions", l.logits().get(new NDIndex("0:1, 6:")), alone, 1e-5);
        assertThat(l.logits().isNaN().any().getBoolean()).as("fully masked pad queries give no NaN").isFalse();

        NDArray meanLoss = model.run(manager.create(new long[][] {right[0]}), ForwardOptions.builder()
                .returnType(ReturnType.LOSS).attentionMask(manager.create(new long[][] {rightMask[0]})).build()).loss();
        assertClose("masked mean loss = loss of the real tokens", meanLoss, aloneLoss, 1e-5);
    }

    /** Gradients from inclBwd against a central finite difference in float64. */
    @Test
    void cachedGradientsMatchFiniteDifferences() {
        HookedTransformerConfig cfg = Fixtures.config(MODEL, "model/config.json").toBuilder()
                .dtype(DataType.FLOAT64).build();
        try (HookedTransformer m64 = HookedTransformer.fromStateDict(cfg,
                Fixtures.tensors(MODEL, "model/weights.safetensors", manager))) {
            String hook = "blocks.1.hook_resid_pre";
            CacheOptions options = CacheOptions.filter(hook::equals).withBackward();
            try (CachedRun run = m64.runWithCache(tokens, options)) {
                assertThat(run.cache().keys()).containsExactly(hook, hook + "_grad");
                NDArray grad = run.cache().get(hook + "_grad");
                NDArray direction = manager.randomNormal(new Shape(3, 16, 64)).toType(DataType.FLOAT64, false);
                double eps = 1e-5;
                double plus = lossWithNudge(m64, hook, direction, eps);
                double minus = lossWithNudge(m64, hook, direction, -eps);
                double numeric = (plus - minus) / (2 * eps);
                double analytic = grad.mul(direction).sum().getDouble();
                assertThat(analytic).isCloseTo(numeric, org.assertj.core.data.Offset.offset(1e-7));
                assertClose("loss", run.output().loss(), expected.get("loss").toType(DataType.FLOAT64, false), 1e-5);
            }
        }
    }

    private double lossWithNudge(HookedTransformer m, String hook, NDArray direction, double eps) {
        Output out = m.runWithHooks(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).build(),
                Hook.of(hook, (act, h) -> act.add(direction.mul(eps))));
        return out.loss().getDouble();
    }

    @Test
    void removeBatchDimKeepsTheOnlyRow() {
        try (CachedRun run = model.runWithCache(tokens.get(new NDIndex("0:1")),
                CacheOptions.filter(n -> n.equals("blocks.0.attn.hook_pattern")).withRemoveBatchDim())) {
            assertThat(run.cache().get("pattern", 0).getShape()).isEqualTo(new Shape(4, 16, 16));
            assertThat(run.cache().hasBatchDim()).isFalse();
        }
    }

    @Test
    void cacheAcceptsShorthandAndNegativeLayers() {
        try (CachedRun run = model.runWithCache(tokens, "blocks.1.hook_resid_post", "pattern0")) {
            assertThat(run.cache().keys()).containsExactly("blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post");
            assertThat(run.cache().get("resid_post", -1)).isSameAs(run.cache().get("blocks.1.hook_resid_post"));
            assertThatThrownBy(() -> run.cache().get("hook_embed")).hasMessageContaining("no activation 'hook_embed'");
        }
        assertThatThrownBy(() -> model.runWithCache(tokens, "blocks.0.hook_resid_pr"))
                .hasMessageContaining("blocks.0.hook_resid_pre");
    }
}
