package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.testing.Fixtures;

/** Hook registration, lifetimes, replacement checks and TransformerLens's hook order. */
class HooksTest {

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

    private boolean anyHooks() {
        return model.hookNames().stream().anyMatch(n -> model.hookPoint(n).hasHooks());
    }

    @Test
    void hookDictOrderIsTransformerLens() {
        assertThat(model.hookNames().subList(0, 8)).containsExactly("hook_embed", "hook_pos_embed", "hook_tokens",
                "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized", "blocks.0.ln2.hook_scale",
                "blocks.0.ln2.hook_normalized", "blocks.0.attn.hook_k");
        assertThat(model.hookNames()).endsWith("blocks.1.hook_resid_pre", "blocks.1.hook_resid_mid",
                "blocks.1.hook_resid_post", "ln_final.hook_scale", "ln_final.hook_normalized");
    }

    @Test
    void hookSeesTheActivationAndItsName() {
        List<String> seen = new ArrayList<>();
        NDArray logits = model.runWithHooks(tokens, Hook.matching(n -> n.endsWith("hook_pattern"), (act, hook) -> {
            seen.add(hook.name() + "@" + hook.layer() + act.getShape());
            return null;
        }));
        assertClose("logits unchanged by a reading hook", logits, expected.get("logits"), 1e-5);
        assertThat(seen).containsExactly("blocks.0.attn.hook_pattern@0(3, 4, 16, 16)",
                "blocks.1.attn.hook_pattern@1(3, 4, 16, 16)");
        assertThat(anyHooks()).isFalse();
    }

    @Test
    void replacementChangesDownstreamActivations() {
        // Zero the attention output of layer 0: resid_mid then equals resid_pre.
        try (HookScope scope = model.hooks(Hook.of("blocks.0.hook_attn_out", (act, hook) -> act.zerosLike()));
             CachedRun run = model.runWithCache(tokens)) {
            assertClose("resid_mid = resid_pre", run.cache().get("resid_mid", 0), run.cache().get("resid_pre", 0), 0);
            assertThat(run.cache().get("attn_out", 0).abs().max().getFloat()).isZero();
        }
        assertThat(anyHooks()).isFalse();
    }

    @Test
    void inPlaceEditsStick() {
        NDArray logits = model.runWithHooks(tokens, Hook.of("blocks.1.hook_resid_post", (act, hook) -> {
            act.set(new NDIndex(":, :, :"), 0f);
            return null;
        }));
        // A zero residual leaves ln_final with only its bias, so every position's logits are b W_U + b_U.
        NDArray expectedRow = model.parameter("ln_final.b").matMul(model.W_U()).add(model.b_U());
        assertClose("logits of a zero residual", logits, expectedRow.broadcast(logits.getShape()), 1e-5);
    }

    @Test
    void hooksAreRemovedWhenAHookThrows() {
        assertThatThrownBy(() -> model.runWithHooks(tokens, Hook.of("blocks.0.hook_resid_pre", (act, hook) -> {
            throw new IllegalStateException("boom");
        }))).isInstanceOf(HookException.class).hasMessageContaining("blocks.0.hook_resid_pre").hasMessageContaining("boom");
        assertThat(anyHooks()).isFalse();
        assertClose("model still works", model.forward(tokens), expected.get("logits"), 1e-5);
    }

    @Test
    void scopesNestAndCleanUpOnException() {
        HookFunction noop = (act, hook) -> null;
        try (HookScope outer = model.hooks(Hook.of("hook_embed", noop))) {
            assertThatThrownBy(() -> {
                try (HookScope inner = model.hooks(Hook.of("blocks.0.attn.hook_z", noop))) {
                    assertThat(model.hookPoint("blocks.0.attn.hook_z").hasHooks()).isTrue();
                    throw new IllegalStateException("inner fails");
                }
            }).hasMessage("inner fails");
            assertThat(model.hookPoint("blocks.0.attn.hook_z").hasHooks()).isFalse();
            assertThat(model.hookPoint("hook_embed").hasHooks()).isTrue();
        }
        assertThat(anyHooks()).isFalse();
    }

    @Test
    void permanentHooksSurviveResetAndScopes() {
        int[] calls = {0};
        model.addPermaHook("hook_embed", (act, hook) -> {
            calls[0]++;
            return null;
        });
        model.addHook("hook_pos_embed", (act, hook) -> null);
        model.runWithHooks(tokens);
        model.resetHooks();
        assertThat(model.hookPoint("hook_pos_embed").hasHooks()).isFalse();
        model.forward(tokens);
        assertThat(calls[0]).isEqualTo(2);
        model.resetHooks(true);
        assertThat(anyHooks()).isFalse();
    }

    @Test
    void wrongShapeOrDtypeReplacementIsRefusedWithTheHookName() {
        assertThatThrownBy(() -> model.runWithHooks(tokens,
                Hook.of("blocks.1.attn.hook_z", (act, hook) -> act.get(new NDIndex(":, :, 0")))))
                .isInstanceOf(HookException.class)
                .hasMessageContaining("blocks.1.attn.hook_z").hasMessageContaining("(3, 16, 16)")
                .hasMessageContaining("(3, 16, 4, 16)");
        assertThatThrownBy(() -> model.runWithHooks(tokens,
                Hook.of("hook_embed", (act, hook) -> act.toType(DataType.FLOAT64, false))))
                .isInstanceOf(HookException.class).hasMessageContaining("hook_embed").hasMessageContaining("float64");
        assertThat(anyHooks()).isFalse();
    }

    @Test
    void unknownHookNameListsTheClosestRealNames() {
        assertThatThrownBy(() -> model.runWithHooks(tokens, Hook.of("blocks.0.attn.hook_patern", (a, h) -> null)))
                .isInstanceOf(HookException.class)
                .hasMessageContaining("blocks.0.attn.hook_patern")
                .hasMessageContaining("blocks.0.attn.hook_pattern");
        assertThat(anyHooks()).isFalse();
    }

    @Test
    void hooksOnDisabledPointsAreRefusedWithTheFlagToSet() {
        assertThatThrownBy(() -> model.addHook("blocks.0.attn.hook_result", (a, h) -> null))
                .isInstanceOf(HookException.class).hasMessageContaining("setUseAttnResult");
        model.setUseAttnResult(true);
        model.addHook("blocks.0.attn.hook_result", (a, h) -> null);
        model.resetHooks();
    }

    @Test
    void shorthandNamesResolve() {
        assertThat(ActNames.getActName("pattern", 3)).isEqualTo("blocks.3.attn.hook_pattern");
        assertThat(ActNames.getActName("k6a")).isEqualTo("blocks.6.attn.hook_k");
        assertThat(ActNames.getActName("pre", 2)).isEqualTo("blocks.2.mlp.hook_pre");
        assertThat(ActNames.getActName("embed")).isEqualTo("hook_embed");
        assertThat(ActNames.getActName("normalized", 27, "ln2")).isEqualTo("blocks.27.ln2.hook_normalized");
        assertThat(ActNames.getActName("attn", 3)).isEqualTo("blocks.3.attn.hook_pattern");
        assertThat(ActNames.getActName("attn_out", 3)).isEqualTo("blocks.3.hook_attn_out");
        assertThat(ActNames.getActName("q_input", 0)).isEqualTo("blocks.0.hook_q_input");
        assertThat(ActNames.getActName("scale")).isEqualTo("ln_final.hook_scale");
        assertThat(ActNames.getActName("scale4ln1")).isEqualTo("blocks.4.ln1.hook_scale");
    }

    @Test
    void editingLn1HooksSeeQueryKeyAndValueInputsSeparately() {
        int[] calls = {0};
        model.runWithHooks(tokens, Hook.of("blocks.0.ln1.hook_normalized", (act, hook) -> {
            calls[0]++;
            return null;
        }));
        assertThat(calls[0]).as("ln1 runs for Q, K and V inputs as in TransformerLens").isEqualTo(3);
    }
}
