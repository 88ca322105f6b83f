package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.analysis.patching.PathPatching.Node;
import org.lens4j.core.CachedRun;
import org.lens4j.core.Hook;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/** Path patching against activation patching and against the paths computed by hand from the weights. */
class PathPatchingTest {

    private static final double ATOL = 1e-5;
    private static final PatchingOptions QUIET = PatchingOptions.DEFAULT.withProgress(false);

    private NDManager manager;
    private Map<String, NDArray> analysis;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private NDArray tokens(String name, String which) {
        if (analysis == null) {
            analysis = Fixtures.tensors(name, "analysis.safetensors", manager);
        }
        return analysis.get("patching." + which + "_tokens");
    }

    /** LayerNorm with weight and bias over the last axis, written out. */
    private static NDArray layerNorm(NDArray x, NDArray w, NDArray b, double eps) {
        NDArray centred = x.sub(x.mean(new int[] {-1}, true));
        NDArray scale = centred.pow(2).mean(new int[] {-1}, true).add(eps).sqrt();
        return centred.div(scale).mul(w).add(b);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void lastLayerHeadsToTheLogitsEqualActivationPatchingTheirOutput(boolean fast) {
        String name = "gpt2_style_2l";
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(tokens(name, "clean"))) {
            PathPatching paths = PathPatching.of(model, QUIET.withFast(fast), false);
            PatchingResult r = paths.sweepSenderHeads(tokens(name, "corrupted"), clean.cache(),
                    PatchingMetric.logitDiff(7, 13), List.of(Node.of("blocks.1.hook_resid_post")));
            assertThat(r.axisNames()).containsExactly("layer", "head");
            // with only later heads frozen, a last-layer head reaches the logits through everything it would
            // reach when patched itself (TransformerLens's attn_head_out_all_pos)
            NDArray expected = analysis.get("patching.attn_head_out_all_pos").get(1);
            assertClose("layer-1 heads", r.toNDArray(manager).get(1), expected, ATOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer"})
    void layerZeroHeadsToTheLogitsAreTheirDirectPath(String name) {
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        NDArray corrupted = tokens(name, "corrupted");
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(tokens(name, "clean"));
                CachedRun corr = model.runWithCache(corrupted)) {
            boolean freezeMlps = !model.config().attnOnly();
            PatchingResult r = PathPatching.of(model, QUIET, freezeMlps).sweepSenderHeads(corrupted, clean.cache(),
                    metric, List.of(Node.of("blocks.1.hook_resid_post")));
            NDArray wO = model.W_O(manager);
            for (int h = 0; h < model.config().nHeads(); h++) {
                // final residual = corrupted one + the head's change written through W_O, nothing else
                NDIndex head = new NDIndex(":, :, {}", h);
                NDArray dz = clean.cache().get("blocks.0.attn.hook_z").get(head)
                        .sub(corr.cache().get("blocks.0.attn.hook_z").get(head));
                NDArray resid = corr.cache().get("blocks.1.hook_resid_post").add(dz.matMul(wO.get(0, h)));
                NDArray logits = layerNorm(resid, model.parameter("ln_final.w"), model.parameter("ln_final.b"),
                        model.config().eps()).matMul(model.W_U()).add(model.b_U());
                assertThat(r.get(0, h)).as("L0H%d", h).isCloseTo(metric.value(logits), Offset.offset(ATOL));
            }
        }
    }

    @Test
    void aHeadToQueriesOfLaterHeadsMatchesTheHandComputedQueries() {
        String name = "gpt2_style_2l";
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        NDArray corrupted = tokens(name, "corrupted");
        int sender = 2;
        List<Integer> receiverHeads = List.of(0, 3);
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(tokens(name, "clean"));
                CachedRun corr = model.runWithCache(corrupted)) {
            double pathPatched = PathPatching.of(model, QUIET, true).patch(corrupted, clean.cache(), metric,
                    List.of(Node.head(0, sender)),
                    receiverHeads.stream().map(h -> Node.headInput(1, h, "q")).toList());

            // by hand: with MLPs frozen, layer 1 reads the corrupted residual plus the sender's change
            NDIndex head = new NDIndex(":, :, {}", sender);
            NDArray dz = clean.cache().get("blocks.0.attn.hook_z").get(head)
                    .sub(corr.cache().get("blocks.0.attn.hook_z").get(head));
            NDArray resid = corr.cache().get("blocks.1.hook_resid_pre").add(dz.matMul(model.W_O(manager).get(0, sender)));
            NDArray normed = layerNorm(resid, model.parameter("blocks.1.ln1.w"), model.parameter("blocks.1.ln1.b"),
                    model.config().eps());
            NDArray wQ = model.parameter("blocks.1.attn.W_Q");
            NDArray bQ = model.parameter("blocks.1.attn.b_Q");
            NDArray logits = model.runWithHooks(corrupted, Hook.of("blocks.1.attn.hook_q", (q, hp) -> {
                NDArray out = q.duplicate();
                for (int h : receiverHeads) {
                    out.set(new NDIndex(":, :, {}", h), normed.matMul(wQ.get(h)).add(bQ.get(h)));
                }
                return out;
            }));
            assertThat(pathPatched).isCloseTo(metric.value(logits), Offset.offset(ATOL));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer"})
    void theFastPathMatchesThePlainLoop(String name) {
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        List<Node> receivers = List.of(Node.headInput(1, 0, "q"), Node.headInput(1, 2, "k"), Node.headInput(1, 1, "v"));
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(tokens(name, "clean"))) {
            PatchingResult fast = PathPatching.of(model, QUIET.withMaxRowsPerForward(6), false)
                    .sweepSenderHeads(tokens(name, "corrupted"), clean.cache(), metric, receivers);
            PatchingResult plain = PathPatching.of(model, QUIET.withFast(false), false)
                    .sweepSenderHeads(tokens(name, "corrupted"), clean.cache(), metric, receivers);
            assertClose("sender heads", fast.toNDArray(manager), plain.toNDArray(manager), ATOL);
            // layer-1 senders cannot reach layer-1 inputs: the corrupted metric
            double corruptedMetric = ActivationPatching.of(model, QUIET).metric(tokens(name, "corrupted"), metric);
            for (int h = 0; h < model.config().nHeads(); h++) {
                assertThat(fast.get(1, h)).isCloseTo(corruptedMetric, Offset.offset(ATOL));
            }
        }
    }

    @Test
    void badNodesAreRefusedByName() {
        String name = "attn_only_2l_shortformer";
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(tokens(name, "clean"))) {
            PathPatching paths = PathPatching.of(model, QUIET, false);
            NDArray corrupted = tokens(name, "corrupted");
            PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
            assertThatThrownBy(() -> paths.patch(corrupted, clean.cache(), metric, List.of(Node.head(0, 1)),
                    List.of(new Node("blocks.1.hook_resid_pre", 0))))
                    .hasMessageContaining("'blocks.1.hook_resid_pre' has no head axis");
            assertThatThrownBy(() -> paths.patch(corrupted, clean.cache(), metric, List.of(Node.of("hook_embed")),
                    List.of(Node.of("blocks.1.hook_resid_post"))))
                    .hasMessageContaining("sender hook_embed is not inside a block");
            assertThatThrownBy(() -> paths.patch(corrupted, clean.cache(), metric, List.of(Node.head(0, 1)), List.of()))
                    .hasMessageContaining("at least one receiver");
            assertThatThrownBy(() -> PathPatching.of(model, QUIET, true)).hasMessageContaining("attention-only");
            assertThatThrownBy(() -> Node.headInput(1, 0, "z")).hasMessageContaining("q, k or v, not 'z'");
            assertThatThrownBy(() -> paths.patch(corrupted, clean.cache(), metric, List.of(Node.head(0, 9)),
                    List.of(Node.of("blocks.1.hook_resid_post"))))
                    .hasMessageContaining("9 is out of range");
        }
    }
}
