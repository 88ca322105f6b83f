package org.lens4j.analysis.ablation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookScope;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.testing.Fixtures;

/** Zero, mean and resample ablations of layers, heads and neurons, checked element by element. */
class AblationTest {

    private static final String MODEL = "gpt2_style_2l";

    private NDManager manager;
    private HookedTransformer model;
    private NDArray tokens;
    private NDArray reference;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        String resource = "/fixtures/tl-2.12/" + MODEL + "/model/config.json";
        try (InputStream in = AblationTest.class.getResourceAsStream(resource)) {
            model = HookedTransformer.fromStateDict(
                    HookedTransformerConfig.fromJson(new String(in.readAllBytes(), StandardCharsets.UTF_8)),
                    Fixtures.tensors(MODEL, "model/weights.safetensors", manager));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        NDArray all = Fixtures.tensors(MODEL, "inputs.safetensors", manager).get("tokens");
        tokens = all.get(new NDIndex("0:2, 8:16"));
        reference = all.get(new NDIndex(":, 0:8"));
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    /** A run with the ablation's hook, every activation cached (the cache records the edited values). */
    private CachedRun ablated(Ablation a, NDArray input) {
        try (HookScope s = model.hooks(a.hook())) {
            return model.runWithCache(input);
        }
    }

    @Test
    void zeroAblatingAHeadRemovesItsTermFromTheAttentionOutput() {
        try (CachedRun plain = model.runWithCache(tokens);
                CachedRun run = ablated(Ablation.zero("z", 1).heads(2), tokens)) {
            NDArray z = run.cache().get("blocks.1.attn.hook_z");
            NDArray before = plain.cache().get("blocks.1.attn.hook_z");
            assertThat(z.get(new NDIndex(":, :, 2")).abs().max().getFloat()).isZero();
            for (int h : new int[] {0, 1, 3}) {
                NDIndex head = new NDIndex(":, :, {}", h);
                assertClose("head " + h, z.get(head), before.get(head), 0);
            }
            // attn_out = sum over the other heads of z_h W_O[h] + b_O
            NDArray wO = model.parameter("blocks.1.attn.W_O");
            NDArray expected = model.parameter("blocks.1.attn.b_O").broadcast(new Shape(2, 8, 64)).duplicate();
            for (int h : new int[] {0, 1, 3}) {
                expected = expected.add(before.get(new NDIndex(":, :, {}", h)).matMul(wO.get(h)));
            }
            assertClose("attn_out", run.cache().get("blocks.1.hook_attn_out"), expected, 1e-5);
        }
    }

    @Test
    void zeroAblatingALayerOutputLeavesTheResidualStreamAsItWas() {
        try (CachedRun run = ablated(Ablation.zero("blocks.0.hook_attn_out"), tokens)) {
            assertClose("resid_mid", run.cache().get("resid_mid", 0), run.cache().get("resid_pre", 0), 0);
        }
    }

    @Test
    void meanAblationOfNeuronsAtPositionsUsesTheReferenceMean() {
        try (CachedRun ref = model.runWithCache(reference);
                CachedRun plain = model.runWithCache(tokens);
                CachedRun run = ablated(Ablation.mean("post", 0, ref.cache()).neurons(5, 200).positions(1, -1),
                        tokens)) {
            NDArray post = run.cache().get("blocks.0.mlp.hook_post").toType(DataType.FLOAT64, false);
            NDArray before = plain.cache().get("blocks.0.mlp.hook_post").toType(DataType.FLOAT64, false);
            NDArray refPost = ref.cache().get("blocks.0.mlp.hook_post").toType(DataType.FLOAT64, false);
            Set<Integer> neurons = Set.of(5, 200);
            Set<Integer> positions = Set.of(1, 7);
            for (int b = 0; b < 2; b++) {
                for (int p = 0; p < 8; p++) {
                    for (int n = 0; n < 256; n++) {
                        double expected = neurons.contains(n) && positions.contains(p)
                                ? (refPost.getDouble(0, p, n) + refPost.getDouble(1, p, n) + refPost.getDouble(2, p, n)) / 3
                                : before.getDouble(b, p, n);
                        assertThat(post.getDouble(b, p, n)).as("[%d, %d, %d]", b, p, n)
                                .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6));
                    }
                }
            }
        }
    }

    @Test
    void resampleAblationCopiesTheReferenceRowsDrawnBySeed() {
        try (CachedRun ref = model.runWithCache(reference);
                CachedRun plain = model.runWithCache(tokens);
                CachedRun run = ablated(Ablation.resample("pattern", 0, ref.cache(), 42).heads(1), tokens)) {
            NDArray pattern = run.cache().get("blocks.0.attn.hook_pattern");
            NDArray refPattern = ref.cache().get("blocks.0.attn.hook_pattern");
            NDArray before = plain.cache().get("blocks.0.attn.hook_pattern");
            // one draw per batch row from java.util.Random(42)
            java.util.Random random = new java.util.Random(42);
            for (int b = 0; b < 2; b++) {
                int r = random.nextInt(3);
                assertClose("row " + b + " head 1", pattern.get(b, 1), refPattern.get(r, 1), 0);
                for (int h : new int[] {0, 2, 3}) {
                    assertClose("row " + b + " head " + h, pattern.get(b, h), before.get(b, h), 0);
                }
            }
        }
    }

    @Test
    void badAblationsFailNamingTheHook() {
        try (CachedRun ref = model.runWithCache(reference.get(new NDIndex(":, 0:5")))) {
            assertThatThrownBy(() -> ablated(Ablation.zero("resid_pre", 0).heads(1), tokens).close())
                    .hasMessageContaining("'blocks.0.hook_resid_pre' has no head axis");
            assertThatThrownBy(() -> ablated(Ablation.zero("z", 0).heads(4), tokens).close())
                    .hasMessageContaining("blocks.0.attn.hook_z").hasMessageContaining("head 4 is out of range for 4");
            assertThatThrownBy(() -> ablated(Ablation.mean("mlp_out", 1, ref.cache()), tokens).close())
                    .hasMessageContaining("reference activation 'blocks.1.hook_mlp_out' has shape (3, 5, 64)");
            assertThatThrownBy(() -> Ablation.zero("z", 0).neurons()).hasMessageContaining("no neurons given");
        }
    }
}
