package org.lens4j.analysis.patching;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.lens4j.core.ActNames;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.Hook;
import org.lens4j.core.HookPoint;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.Output;

/**
 * Attribution patching (Nanda 2023): a first-order estimate of every activation patch at once. With the
 * gradient {@code g} of the metric at the corrupted run, patching a region R of an activation changes the
 * metric by about {@code sum_{b, i in R} g[b, i] * (clean[b, i] - corrupted[b, i])}. One corrupted forward
 * pass and one backward pass (plus the clean cache the caller already has) give the estimate for every hook,
 * head and position.
 *
 * <pre>{@code
 * try (AttributionPatching attr = AttributionPatching.run(model, corruptedTokens, cleanCache, metric)) {
 *     PatchingResult estimate = attr.sweep(PatchSweep.ATTN_HEAD_OUT_ALL_POS);  // [layer, head], metric change
 * }
 * }</pre>
 *
 * <p>Estimates are changes of the metric ({@code patched - corrupted}); add {@link #corruptedMetric()} to
 * compare with {@link ActivationPatching} results. The object owns native arrays: close it.
 */
public final class AttributionPatching implements AutoCloseable {

    private final HookedTransformerConfig cfg;
    private final long nPositions;
    private final NDManager manager;
    private final Map<String, NDArray> attributions;
    private final double corruptedMetric;

    private AttributionPatching(HookedTransformerConfig cfg, long nPositions, NDManager manager,
            Map<String, NDArray> attributions, double corruptedMetric) {
        this.cfg = cfg;
        this.nPositions = nPositions;
        this.manager = manager;
        this.attributions = attributions;
        this.corruptedMetric = corruptedMetric;
    }

    /** Attribution for every hook point the clean cache holds. */
    public static AttributionPatching run(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchingMetric metric) {
        return run(model, corruptedTokens, cleanCache, metric, n -> true);
    }

    /**
     * Attribution for the hook points that the filter accepts and the clean cache holds.
     *
     * @param corruptedTokens {@code [batch, pos]}
     * @param cleanCache a cache of the clean run on tokens of the same shape
     * @param metric a differentiable metric
     */
    public static AttributionPatching run(HookedTransformer model, NDArray corruptedTokens, ActivationCache cleanCache,
            PatchingMetric metric, Predicate<String> names) {
        Shape tokensShape = PatchRunner.tokensShape(corruptedTokens);
        NDManager manager = corruptedTokens.getManager().newSubManager();
        try (NDManager scratch = manager.newSubManager()) {
            // the forward and backward passes, the probes and the corrupted activations live in scratch
            NDArray tokens = PatchRunner.copyTokens(corruptedTokens, scratch);
            Map<String, NDArray> corrupted = new LinkedHashMap<>();
            Map<String, List<NDArray>> probes = new LinkedHashMap<>();
            // Adds a zero that requires a gradient at each point: its gradient is dmetric/dactivation. A point
            // that fires more than once (ln1 feeding q, k and v separately) gets one probe per firing.
            Hook probe = Hook.matching(n -> names.test(n) && cleanCache.contains(n), (act, hp) -> {
                corrupted.computeIfAbsent(hp.name(), n -> HookPoint.keep(act, scratch));
                NDArray zero = scratch.zeros(act.getShape(), act.getDataType());
                NDScope.unregister(zero); // it must outlive the forward pass's scope
                zero.setRequiresGradient(true);
                probes.computeIfAbsent(hp.name(), n -> new ArrayList<>()).add(zero);
                return act.add(zero);
            });
            double value;
            Map<String, NDArray> attributions = new LinkedHashMap<>();
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                try (Output out = model.runWithHooks(tokens, ForwardOptions.DEFAULT, probe)) {
                    NDArray m = metric.apply(out.logits());
                    value = PatchingMetric.toDouble(m);
                    collector.backward(m);
                    m.close();
                }
                for (Map.Entry<String, List<NDArray>> e : probes.entrySet()) {
                    // temporaries land in the clean cache's manager: free them here
                    try (NDScope scope = new NDScope()) {
                        scope.suppressNotUsedWarning();
                        String name = e.getKey();
                        NDArray grad = e.getValue().get(0).getGradient();
                        for (NDArray more : e.getValue().subList(1, e.getValue().size())) {
                            grad = grad.add(more.getGradient());
                        }
                        NDArray clean = ActivationPatching.cleanActivation(cleanCache, name, tokensShape);
                        NDArray delta = clean.sub(corrupted.get(name));
                        // masked attention scores are -inf in both runs: no change there
                        delta = NDArrays.where(delta.isNaN(), delta.zerosLike(), delta);
                        NDArray attribution = grad.mul(delta);
                        NDScope.unregister(attribution);
                        attribution.attach(manager);
                        attributions.put(name, attribution);
                    }
                }
            }
            return new AttributionPatching(model.config(), tokensShape.get(1), manager, attributions, value);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** The metric of the corrupted run. */
    public double corruptedMetric() {
        return corruptedMetric;
    }

    /** The hook points with an attribution, in firing order. */
    public List<String> hookNames() {
        return List.copyOf(attributions.keySet());
    }

    /**
     * The attribution of each element of an activation, {@code grad * (clean - corrupted)}: summing it over
     * a region estimates the effect of patching that region.
     *
     * @param hookName full name or shorthand
     * @return {@code [batch, ...]} (the activation's shape), owned by this object
     */
    public NDArray attribution(String hookName) {
        NDArray a = attributions.get(hookName);
        if (a == null) {
            a = attributions.get(ActNames.getActName(hookName));
        }
        if (a == null) {
            throw new IllegalArgumentException("no attribution for '" + hookName + "'; recorded: " + attributions.keySet());
        }
        return a;
    }

    /**
     * The estimated metric change of each patch of a sweep, with the shape and index order of
     * {@link ActivationPatching#sweep}. The sweep's setter must be a {@link PatchRegion} whose axes come in
     * the order of its index axes (as in all of TransformerLens's sweeps).
     */
    public PatchingResult sweep(PatchSweep sweep) {
        if (!(sweep.setter() instanceof PatchRegion region)) {
            throw new IllegalArgumentException("attribution patching needs a PatchRegion setter, not " + sweep.setter());
        }
        long[] shape = sweep.shape(cfg, nPositions);
        double[] values = new double[(int) java.util.Arrays.stream(shape).reduce(1, (x, y) -> x * y)];
        int perLayer = values.length / cfg.nLayers();
        for (int l = 0; l < cfg.nLayers(); l++) {
            try (NDManager scratch = manager.newSubManager()) {
                NDArray perElement = attribution(ActNames.getActName(sweep.activationName(), l));
                NDArray summed = region.sumPerRegion(perElement);
                summed.attach(scratch);
                double[] layer = summed.toType(DataType.FLOAT64, false).toDoubleArray();
                if (layer.length != perLayer) {
                    throw new IllegalArgumentException("sweep " + sweep.axisNames() + " does not fit activation '"
                            + sweep.activationName() + "' of shape " + perElement.getShape());
                }
                System.arraycopy(layer, 0, values, l * perLayer, perLayer);
            }
        }
        return new PatchingResult(values, shape, sweep.axisNames());
    }

    /** Estimates for resid_pre, attn_out and mlp_out by layer and position: {@code [3, layer, pos]}. */
    public PatchingResult blockEvery() {
        return ActivationPatching.blockEvery(this::sweep);
    }

    /** Estimates for each head's output, query, key, value and pattern: {@code [5, layer, head]}. */
    public PatchingResult attnHeadAllPosEvery() {
        return ActivationPatching.attnHeadAllPosEvery(this::sweep);
    }

    /** Estimates for each head's output, query, key, value and pattern by position: {@code [5, layer, pos, head]}. */
    public PatchingResult attnHeadByPosEvery() {
        return ActivationPatching.attnHeadByPosEvery(this::sweep);
    }

    /** Frees the attributions. */
    @Override
    public void close() {
        manager.close();
    }
}
