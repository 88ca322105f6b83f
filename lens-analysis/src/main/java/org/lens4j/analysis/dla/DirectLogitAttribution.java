package org.lens4j.analysis.dla;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;
import org.lens4j.analysis.Doubles;
import org.lens4j.analysis.dla.Attribution.Unit;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.LabelledStack;
import org.lens4j.core.Slice;
import org.lens4j.core.StackOptions;

/**
 * Direct logit attribution (DLA): how much each component writes along the answer's unembedding direction,
 * TransformerLens's {@code direct_logit_attribution} built on {@link ActivationCache#logitAttrs}. Each
 * component is centred (LayerNorm models) and divided by the cached {@code ln_final} scale at the answer's
 * position, then dotted with {@code W_U[:, correct] - W_U[:, incorrect]}.
 *
 * <p>The attributions of a complete decomposition ({@link Unit#COMPONENT}, or {@link Unit#HEAD} with its
 * remainder) add up to the logit difference minus the {@code b_U} difference when the model's LayerNorm
 * weights are folded (TransformerLens's default processing). On an unprocessed model the final LayerNorm's
 * weight and bias are left out, as in TransformerLens, and the sum is only that linearised logit
 * difference.
 *
 * <pre>{@code
 * Attribution heads = DirectLogitAttribution.compute(cache, AnswerTokens.difference(7, 13), Unit.HEAD);
 * heads.top(3);      // [(L1H2, 0.41), ...]
 * heads.grid();      // [layer][head], batch means
 * }</pre>
 */
public final class DirectLogitAttribution {

    private DirectLogitAttribution() {}

    /**
     * Runs the model on {@code tokens} with a cache and attributes the answer.
     *
     * @param tokens {@code [batch, pos]}
     */
    public static Attribution compute(HookedTransformer model, NDArray tokens, AnswerTokens answers, Unit unit) {
        try (CachedRun run = model.runWithCache(tokens)) {
            return compute(run.cache(), answers, unit);
        }
    }

    /**
     * Attributes the answer's logit (difference) to the components of a cached run.
     *
     * @param cache a full cache of the run (with or without batch dimension)
     * @param answers the answer tokens (one per batch element or one for all) and position
     * @param unit what the components are
     * @return {@code [component][batch]} attributions with labels
     */
    public static Attribution compute(ActivationCache cache, AnswerTokens answers, Unit unit) {
        HookedTransformerConfig cfg = cache.model().config();
        int batch = batchSize(cache);
        if (unit == Unit.NEURON) {
            return neurons(cache, answers, batch);
        }
        StackOptions at = StackOptions.defaults().posSlice(Slice.index(answers.position()));
        try (NDManager tmp = cache.manager().newSubManager();
                LabelledStack stack = switch (unit) {
                    case COMPONENT -> cache.decomposeResid(at);
                    case LAYER -> cache.accumulatedResid(at.inclMid(!cfg.attnOnly()));
                    case HEAD -> cache.stackHeadResults(at.inclRemainder(true));
                    case NEURON -> throw new AssertionError();
                }) {
            NDArray correct = tokens(answers.correctArray(batch, tmp), cache);
            NDArray incorrect = answers.isDifference() ? tokens(answers.incorrectArray(batch, tmp), cache) : null;
            try (NDArray attrs = cache.logitAttrs(stack.stack(), correct, incorrect, at)) {
                int[] grid = unit == Unit.HEAD ? new int[] {cfg.nLayers(), cfg.nHeads()} : null;
                return new Attribution(unit, stack.labels(), rows(attrs, stack.size(), batch), grid);
            }
        }
    }

    /**
     * Per-neuron attributions without building the {@code [neurons, batch, d_model]} stack:
     * {@code post[b, n] * (W_out[n] . centred(direction_b)) / scale_b}, since centring a component and
     * dotting it with a direction equals dotting it with the centred direction.
     */
    private static Attribution neurons(ActivationCache cache, AnswerTokens answers, int batch) {
        HookedTransformer model = cache.model();
        HookedTransformerConfig cfg = model.config();
        if (cfg.attnOnly()) {
            throw new IllegalArgumentException("neuron attribution: the model is attention-only, it has no MLP neurons");
        }
        int layers = cfg.nLayers();
        int dMlp = cfg.dMlp();
        Slice pos = Slice.index(answers.position());
        double[][] values = new double[layers * dMlp][batch];
        List<String> labels = new ArrayList<>();
        // The scope frees the views and products made on the cache's arrays.
        try (NDManager tmp = cache.manager().newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray dirs = answers.residualDirections(model, batch, tmp);   // [batch, d_model]
            NormalizationType norm = cfg.normalizationType();
            if (norm.isLayerNorm()) {
                dirs = dirs.sub(dirs.mean(new int[] {-1}, true));
            }
            NDArray scale = norm == NormalizationType.NONE ? null
                    : withBatch(pos.apply(cache.get("ln_final.hook_scale"), -2), cache);   // [batch, 1]
            for (int l = 0; l < layers; l++) {
                NDArray post = withBatch(pos.apply(cache.get("blocks." + l + ".mlp.hook_post"), -2), cache);
                NDArray wOut = model.parameter("blocks." + l + ".mlp.W_out");   // [d_mlp, d_model]
                NDArray attr = post.mul(dirs.matMul(wOut.transpose()));   // [batch, d_mlp]
                if (scale != null) {
                    attr = attr.div(scale);
                }
                double[] flat = Doubles.of(attr);
                for (int i = 0; i < dMlp; i++) {
                    labels.add("L" + l + "N" + i);
                    for (int b = 0; b < batch; b++) {
                        values[l * dMlp + i][b] = flat[b * dMlp + i];
                    }
                }
            }
        }
        return new Attribution(Unit.NEURON, labels, values, new int[] {layers, dMlp});
    }

    private static int batchSize(ActivationCache cache) {
        return cache.hasBatchDim() ? (int) cache.get("hook_embed").getShape().get(0) : 1;
    }

    /** Tokens {@code [batch]}, or a scalar for a cache without batch dimension. */
    private static NDArray tokens(NDArray perBatch, ActivationCache cache) {
        return cache.hasBatchDim() ? perBatch : perBatch.squeeze(0);
    }

    private static NDArray withBatch(NDArray a, ActivationCache cache) {
        return cache.hasBatchDim() ? a : a.expandDims(0);
    }

    /** {@code [component, batch]} (or {@code [component]}) as {@code double[component][batch]}. */
    private static double[][] rows(NDArray attrs, int components, int batch) {
        double[] flat = Doubles.of(attrs);
        double[][] out = new double[components][batch];
        for (int c = 0; c < components; c++) {
            System.arraycopy(flat, c * batch, out[c], 0, batch);
        }
        return out;
    }
}
