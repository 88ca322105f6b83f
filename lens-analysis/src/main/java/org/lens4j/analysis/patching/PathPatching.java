package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.lens4j.core.ActNames;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.ReturnType;

/**
 * Path patching (Wang et al. 2022, "Interpretability in the Wild"): the effect of sender components on the
 * metric through receiver components only. In the corrupted run:
 * <ol>
 *   <li>the senders take their clean values and every other attention head's output (z) is frozen to its
 *       corrupted value (MLPs too, if asked), so only the paths from the senders change the residual
 *       stream; the receivers' activations are recorded;</li>
 *   <li>a second corrupted run patches only the receivers with the recorded values; everything after them
 *       is recomputed, and the metric is read.</li>
 * </ol>
 * A receiver is a hook point read by later components: one head's q, k or v
 * ({@link Node#headInput}), or a residual stream such as the last block's {@code hook_resid_post} (the
 * direct path to the logits).
 *
 * <pre>{@code
 * PathPatching paths = PathPatching.of(model);
 * // L0H3 -> the queries of L1H0 and L1H2
 * double m = paths.patch(corruptedTokens, cleanCache, metric, List.of(Node.head(0, 3)),
 *         List.of(Node.headInput(1, 0, "q"), Node.headInput(1, 2, "q")));
 * // every head as the sender -> the logits: [layer, head]
 * PatchingResult r = paths.sweepSenderHeads(corruptedTokens, cleanCache, metric,
 *         List.of(Node.of("blocks.1.hook_resid_post")));
 * }</pre>
 */
public final class PathPatching {

    /**
     * A component: a whole hook point, or one head of a hook point with a head axis ({@code q}, {@code k},
     * {@code v}, {@code z}, {@code result}, the split inputs, {@code pattern}, {@code attn_scores}).
     *
     * @param hookName the full hook name
     * @param head the head, or null for the whole activation
     */
    public record Node(String hookName, Integer head) {

        /** Validates the node. */
        public Node {
            Objects.requireNonNull(hookName, "hookName");
            if (head != null && head < 0) {
                throw new IllegalArgumentException("head " + head + " of " + hookName + " is negative");
            }
        }

        /** A head's output {@code z}, e.g. {@code head(0, 3)} = L0H3. */
        public static Node head(int layer, int head) {
            return new Node(ActNames.getActName("z", layer), head);
        }

        /** A head's query, key or value input ({@code which} = "q", "k" or "v"). */
        public static Node headInput(int layer, int head, String which) {
            if (!Set.of("q", "k", "v").contains(which)) {
                throw new IllegalArgumentException("a head input is q, k or v, not '" + which + "'");
            }
            return new Node(ActNames.getActName(which, layer), head);
        }

        /** A whole hook point, e.g. {@code blocks.1.hook_mlp_out} or the last {@code hook_resid_post}. */
        public static Node of(String hookName) {
            return new Node(ActNames.getActName(hookName), null);
        }

        /** The patch region of this node in its activation. */
        PatchRegion region() {
            if (head == null) {
                return new PatchRegion();
            }
            if (hookName.endsWith("hook_pattern") || hookName.endsWith("hook_attn_scores")) {
                return new PatchRegion(1);
            }
            if (hookName.contains(".attn.hook_") || hookName.endsWith("_input") || hookName.endsWith("hook_attn_in")) {
                return new PatchRegion(2);
            }
            throw new IllegalArgumentException("hook '" + hookName + "' has no head axis; use Node.of(name)");
        }

        /** The index of this node for its region: {@code [layer]} or {@code [layer, head]}. */
        int[] index(int layer) {
            return head == null ? new int[] {layer} : new int[] {layer, head};
        }

        @Override
        public String toString() {
            return head == null ? hookName : hookName + "[head " + head + "]";
        }
    }

    private final HookedTransformer model;
    private final PatchRunner runner;
    private final boolean freezeMlps;

    private PathPatching(HookedTransformer model, PatchingOptions options, boolean freezeMlps) {
        this.model = model;
        this.runner = new PatchRunner(model, options);
        this.freezeMlps = freezeMlps;
    }

    /** Path patching that freezes attention heads and recomputes MLPs, as in Wang et al. */
    public static PathPatching of(HookedTransformer model) {
        return of(model, PatchingOptions.DEFAULT, false);
    }

    /**
     * Path patching with options.
     *
     * @param freezeMlps also freeze every MLP output that is not a sender to its corrupted value
     */
    public static PathPatching of(HookedTransformer model, PatchingOptions options, boolean freezeMlps) {
        if (freezeMlps && model.config().attnOnly()) {
            throw new IllegalArgumentException("freezeMlps on an attention-only model: it has no MLPs");
        }
        return new PathPatching(model, options, freezeMlps);
    }

    /**
     * The metric after patching the paths from the senders to the receivers.
     *
     * @param corruptedTokens {@code [batch, pos]}
     * @param cleanCache a cache of the clean run on tokens of the same shape
     */
    public double patch(NDArray corruptedTokens, ActivationCache cleanCache, PatchingMetric metric, List<Node> senders,
            List<Node> receivers) {
        return run(corruptedTokens, cleanCache, metric, List.of(senders), receivers, null)[0];
    }

    /**
     * Path patching with each attention head in turn as the only sender, to fixed receivers.
     *
     * @return the metric per sender head, {@code [layer, head]}
     */
    public PatchingResult sweepSenderHeads(NDArray corruptedTokens, ActivationCache cleanCache, PatchingMetric metric,
            List<Node> receivers) {
        int nLayers = model.config().nLayers();
        int nHeads = model.config().nHeads();
        List<List<Node>> senders = new ArrayList<>();
        for (int l = 0; l < nLayers; l++) {
            for (int h = 0; h < nHeads; h++) {
                senders.add(List.of(Node.head(l, h)));
            }
        }
        double[] values = run(corruptedTokens, cleanCache, metric, senders, receivers, "path patching");
        return new PatchingResult(values, new long[] {nLayers, nHeads}, List.of("layer", "head"));
    }

    private double[] run(NDArray corruptedTokens, ActivationCache cleanCache, PatchingMetric metric,
            List<List<Node>> senderSets, List<Node> receivers, String task) {
        Shape tokensShape = PatchRunner.tokensShape(corruptedTokens);
        if (receivers.isEmpty()) {
            throw new IllegalArgumentException("path patching needs at least one receiver");
        }
        int lastReceiverLayer = -1;
        for (Node r : receivers) {
            lastReceiverLayer = Math.max(lastReceiverLayer, layerOf(r, "receiver"));
            r.region(); // fails early for a head of a hook without a head axis
        }
        Set<String> frozenNames = new LinkedHashSet<>();
        for (int l = 0; l <= lastReceiverLayer; l++) {
            frozenNames.add(ActNames.getActName("z", l));
            if (freezeMlps) {
                frozenNames.add(ActNames.getActName("mlp_out", l));
            }
        }
        CacheOptions frozenOnly = CacheOptions.filter(frozenNames::contains)
                .withForward(ForwardOptions.builder().returnType(ReturnType.NONE).build());
        try (NDManager captures = corruptedTokens.getManager().newSubManager();
                CachedRun corrupted = model.runWithCache(PatchRunner.copyTokens(corruptedTokens, captures), frozenOnly)) {
            // Step 1: senders clean, every other head (and MLP) frozen; record the receivers.
            List<PatchRunner.Variant> first = new ArrayList<>();
            for (List<Node> senders : senderSets) {
                first.add(senderRun(senders, cleanCache, corrupted.cache(), tokensShape, lastReceiverLayer));
            }
            List<String> receiverHooks = receivers.stream().map(Node::hookName).distinct().toList();
            List<Map<String, NDArray>> recorded = runner.capture(corruptedTokens, first, receiverHooks, captures,
                    task == null ? null : task + " (senders)");
            // Step 2: only the receivers patched, everything downstream recomputed.
            List<PatchRunner.Variant> second = new ArrayList<>();
            for (Map<String, NDArray> values : recorded) {
                List<PatchRunner.Edit> edits = new ArrayList<>();
                for (Node r : receivers) {
                    int layer = layerOf(r, "receiver");
                    edits.add(PatchRunner.Edit.region(r.hookName(), r.region(), r.index(layer), values.get(r.hookName())));
                }
                second.add(new PatchRunner.Variant(edits));
            }
            return runner.metrics(corruptedTokens, second, metric, task == null ? null : task + " (receivers)");
        }
    }

    /** The edits of step 1: frozen heads (and MLPs), then the senders' clean values. */
    private PatchRunner.Variant senderRun(List<Node> senders, ActivationCache cleanCache, ActivationCache corrupted,
            Shape tokens, int lastReceiverLayer) {
        if (senders.isEmpty()) {
            throw new IllegalArgumentException("path patching needs at least one sender");
        }
        int firstSenderLayer = Integer.MAX_VALUE;
        for (Node s : senders) {
            firstSenderLayer = Math.min(firstSenderLayer, layerOf(s, "sender"));
        }
        List<PatchRunner.Edit> edits = new ArrayList<>();
        // Before the first sender nothing differs from the corrupted run, so freezing starts there.
        for (int l = firstSenderLayer; l <= lastReceiverLayer; l++) {
            edits.add(freeze(ActNames.getActName("z", l), corrupted));
            if (freezeMlps) {
                edits.add(freeze(ActNames.getActName("mlp_out", l), corrupted));
            }
        }
        for (Node s : senders) {
            int layer = layerOf(s, "sender");
            NDArray clean = ActivationPatching.cleanActivation(cleanCache, s.hookName(), tokens);
            edits.add(PatchRunner.Edit.region(s.hookName(), s.region(), s.index(layer), clean));
        }
        return new PatchRunner.Variant(edits);
    }

    private static PatchRunner.Edit freeze(String hookName, ActivationCache corrupted) {
        return PatchRunner.Edit.region(hookName, new PatchRegion(), new int[] {0}, corrupted.get(hookName));
    }

    private int layerOf(Node n, String role) {
        int layer = model.hookPoint(n.hookName()).layer();
        if (layer < 0) {
            throw new IllegalArgumentException(role + " " + n + " is not inside a block");
        }
        return layer;
    }
}
