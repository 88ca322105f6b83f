package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.lens4j.core.ActNames;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.Hook;
import org.lens4j.core.HookPoint;
import org.lens4j.core.HookScope;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.PositionalEmbeddingType;
import org.lens4j.core.Output;
import org.lens4j.core.ReturnType;

/**
 * Runs many variants of one base forward pass, each with its own edits at some hook points, and reads a
 * metric (or captures activations) per variant: the engine under every patching tool.
 *
 * <p>Plain path: one forward pass per variant from the tokens (TransformerLens's loop). Fast path: the
 * residual stream before the first block a variant edits is the base run's, so the variant starts there
 * from the cached {@code resid_pre}; variants that start at the same block share forward passes, stacked
 * along the batch axis (variant k owns rows {@code [k*B, (k+1)*B)}), with one hook per edited point that
 * hands each variant its own rows. Blocks run one call at a time so that only one block's intermediate
 * arrays are alive, and the unembedding runs only at the positions the metric reads. Both paths give the
 * same numbers up to float rounding.
 */
final class PatchRunner {

    /**
     * One edit of a variant.
     *
     * @param hookName the hook point (full name or shorthand)
     * @param fn the variant's rows of the activation {@code [batch, ...]} to their replacement (same shape)
     * @param region when the edit is a region patch: its description, so that the patches of many variants
     *     at one point can be applied in one operation; else null
     */
    record Edit(String hookName, UnaryOperator<NDArray> fn, RegionPatch region) {

        /** A general edit. */
        Edit(String hookName, UnaryOperator<NDArray> fn) {
            this(hookName, fn, null);
        }

        /** An edit that patches a region with clean values. */
        static Edit region(String hookName, PatchRegion region, int[] index, NDArray clean) {
            int[] idx = index.clone();
            return new Edit(hookName, act -> region.patch(act, idx, clean), new RegionPatch(region, idx, clean));
        }

        Edit withHookName(String name) {
            return new Edit(name, fn, region);
        }
    }

    /** A region patch: {@code region.patch(act, index, clean)}. */
    record RegionPatch(PatchRegion region, int[] index, NDArray clean) {}

    /** A patched run, described by its edits (in the order they apply at a shared hook point). */
    record Variant(List<Edit> edits) {}

    private final HookedTransformer model;
    private final PatchingOptions options;
    private final List<Hook> baseHooks;

    /**
     * @param baseHooks hooks of every run, the base included, on named points before the first block
     *     (causal tracing's noise on {@code hook_embed})
     */
    PatchRunner(HookedTransformer model, PatchingOptions options, List<Hook> baseHooks) {
        this.model = model;
        this.options = options;
        this.baseHooks = List.copyOf(baseHooks);
        for (Hook h : this.baseHooks) {
            if (h.name() == null || model.hookPoint(h.name()).layer() >= 0 || h.name().startsWith("ln_final")) {
                throw new IllegalArgumentException("a base hook must name a point before the first block, not "
                        + (h.name() == null ? "a filter" : h.name()));
            }
        }
    }

    PatchRunner(HookedTransformer model, PatchingOptions options) {
        this(model, options, List.of());
    }

    /**
     * Checks tokens and returns their shape as {@code [batch, pos]}.
     *
     * @param tokens {@code [batch, pos]} or {@code [pos]} integer token ids
     */
    static Shape tokensShape(NDArray tokens) {
        Shape s = tokens.getShape();
        if (!tokens.getDataType().isInteger() || (s.dimension() != 1 && s.dimension() != 2)) {
            throw new IllegalArgumentException("tokens must be integer [batch, pos] or [pos], not " + tokens.getDataType()
                    + " " + s);
        }
        return s.dimension() == 1 ? new Shape(1, s.get(0)) : s;
    }

    /** A copy of the tokens as {@code [batch, pos]}, owned by {@code m} (so nothing lands in the caller's manager). */
    static NDArray copyTokens(NDArray tokens, NDManager m) {
        Shape s = tokensShape(tokens);
        NDArray copy = tokens.duplicate();
        copy.attach(m);
        return copy.getShape().equals(s) ? copy : copy.reshape(s);
    }

    /** The metric of each variant. */
    double[] metrics(NDArray tokens, List<Variant> variants, PatchingMetric metric, String task) {
        Results results = new Results(new double[variants.size()], null, null, metric, List.of());
        run(tokens, variants, results, task);
        return results.values();
    }

    /**
     * The activations at some hook points in each variant's run (after its edits there).
     *
     * @param hooks the points to capture
     * @param into the manager that will own the captured arrays
     * @return per variant, full hook name to activation {@code [batch, ...]}
     */
    List<Map<String, NDArray>> capture(NDArray tokens, List<Variant> variants, List<String> hooks, NDManager into,
            String task) {
        List<Map<String, NDArray>> out = new ArrayList<>();
        for (int i = 0; i < variants.size(); i++) {
            out.add(new LinkedHashMap<>());
        }
        List<String> names = new ArrayList<>();
        for (String h : hooks) {
            names.add(model.hookPoint(h).name());
        }
        run(tokens, variants, new Results(null, out, into, null, names), task);
        return out;
    }

    /** The metric of the base run (no edits). */
    double baseMetric(NDArray tokens, PatchingMetric metric) {
        return metrics(tokens, List.of(new Variant(List.of())), metric, null)[0];
    }

    /**
     * Where a run's results go: metric values (when {@code metric} is set) or captured activations.
     *
     * @param values the metric per variant
     * @param captured per variant, the captured activations
     * @param into the manager of the captured activations
     * @param metric the metric, or null when capturing
     * @param captures full names of the captured points
     */
    private record Results(double[] values, List<Map<String, NDArray>> captured, NDManager into, PatchingMetric metric,
            List<String> captures) {}

    private void run(NDArray tokens, List<Variant> variants, Results results, String task) {
        tokensShape(tokens);
        List<Variant> resolved = resolve(variants);
        try (NDManager root = tokens.getManager().newSubManager();
                ProgressBar bar = progressBar(task, variants.size())) {
            NDArray base = copyTokens(tokens, root);
            if (useFastPath(resolved, results.captures())) {
                runFast(base, resolved, results, bar, root);
            } else {
                runPlain(base, resolved, results, bar, root);
            }
        }
    }

    /** Variants with full hook names (unknown names fail here, naming the hook). */
    private List<Variant> resolve(List<Variant> variants) {
        List<Variant> out = new ArrayList<>(variants.size());
        for (Variant v : variants) {
            List<Edit> edits = new ArrayList<>();
            for (Edit e : v.edits()) {
                edits.add(e.withHookName(model.hookPoint(e.hookName()).name()));
            }
            out.add(new Variant(edits));
        }
        return out;
    }

    private boolean useFastPath(List<Variant> variants, List<String> captures) {
        if (!options.fast()) {
            return false;
        }
        // Hooks the caller added would see stacked rows or be skipped before the start layer.
        for (String name : model.hookNames()) {
            if (model.hookPoint(name).hasHooks()) {
                return false;
            }
        }
        for (String c : captures) {
            if (model.hookPoint(c).layer() < 0) {
                return false;
            }
        }
        for (Variant v : variants) {
            for (Edit e : v.edits()) {
                if (model.hookPoint(e.hookName()).layer() < 0) {
                    return false;
                }
            }
        }
        return true;
    }

    private ProgressBar progressBar(String task, int total) {
        if (task == null || total < 2 || !options.showProgress()) {
            return null;
        }
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                .setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
    }

    // ------------------------------------------------------------------------------------------ plain path

    private void runPlain(NDArray tokens, List<Variant> variants, Results results, ProgressBar bar, NDManager root) {
        long batch = tokens.getShape().get(0);
        for (int i = 0; i < variants.size(); i++) {
            int variant = i;
            try (NDManager vm = root.newSubManager(); NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray input = tokens.duplicate();
                input.attach(vm);
                List<Hook> hooks = new ArrayList<>(baseHooks);
                for (Map.Entry<String, UnaryOperator<NDArray>> e : editsByHook(variants.get(i)).entrySet()) {
                    UnaryOperator<NDArray> fn = e.getValue();
                    hooks.add(Hook.of(e.getKey(), (act, hp) -> checked(fn.apply(act), act, hp, variant)));
                }
                if (results.metric() == null) {
                    addCaptureHooks(hooks, results, List.of(i), batch);
                }
                ForwardOptions o = ForwardOptions.builder()
                        .returnType(results.metric() == null ? ReturnType.NONE : ReturnType.LOGITS).build();
                try (Output out = model.runWithHooks(input, o, hooks.toArray(Hook[]::new))) {
                    if (results.metric() != null) {
                        results.values()[i] = results.metric().value(out.logits());
                    }
                }
            }
            step(bar, 1);
        }
    }

    // ------------------------------------------------------------------------------------------ fast path

    private void runFast(NDArray tokens, List<Variant> variants, Results results, ProgressBar bar, NDManager root) {
        HookedTransformerConfig cfg = model.config();
        int nLayers = cfg.nLayers();
        long batch = tokens.getShape().get(0);
        int stop = nLayers;
        if (results.metric() == null) {
            stop = 0;
            for (String c : results.captures()) {
                stop = Math.max(stop, model.hookPoint(c).layer() + 1);
            }
        }

        Set<String> baseNames = new HashSet<>();
        for (int l = 0; l < nLayers; l++) {
            baseNames.add(ActNames.getActName("resid_pre", l));
        }
        baseNames.add("hook_pos_embed");
        if (results.metric() != null) {
            for (Variant v : variants) {
                if (singleRegionPatch(v) != null) {
                    baseNames.add(v.edits().get(0).hookName());
                }
            }
        }
        CacheOptions cacheOptions = CacheOptions.filter(baseNames::contains).withForward(ForwardOptions.builder()
                .returnType(results.metric() == null ? ReturnType.NONE : ReturnType.LOGITS).build());
        CachedRun baseRun;
        try (HookScope s = model.hooks(baseHooks.toArray(Hook[]::new))) {
            baseRun = model.runWithCache(tokens, cacheOptions);
        }
        try (baseRun) {
            boolean[] unchanged = results.metric() == null ? new boolean[variants.size()]
                    : unchangedByPatch(variants, baseRun.cache());
            if (results.metric() != null) {
                double baseMetric = results.metric().value(baseRun.logits());
                for (int i = 0; i < variants.size(); i++) {
                    if (unchanged[i]) {
                        results.values()[i] = baseMetric;
                    }
                }
            }
            // Variants by the first block they touch: before it, the residual stream is the base run's.
            TreeMap<Integer, List<Integer>> byStart = new TreeMap<>();
            for (int i = 0; i < variants.size(); i++) {
                if (unchanged[i]) {
                    continue;
                }
                // (a capture run without edits starts at the last captured block)
                int start = stop - 1;
                for (Edit e : variants.get(i).edits()) {
                    start = Math.min(start, model.hookPoint(e.hookName()).layer());
                }
                for (String c : results.captures()) {
                    start = Math.min(start, model.hookPoint(c).layer());
                }
                byStart.computeIfAbsent(start, k -> new ArrayList<>()).add(i);
            }
            int skipped = variants.size() - byStart.values().stream().mapToInt(List::size).sum();
            step(bar, skipped);
            int perForward = (int) Math.max(1, rowsPerForward(tokens.getShape().get(1), results.metric()) / batch);
            for (Map.Entry<Integer, List<Integer>> group : byStart.entrySet()) {
                List<Integer> ids = group.getValue();
                for (int from = 0; from < ids.size(); from += perForward) {
                    List<Integer> chunk = ids.subList(from, Math.min(ids.size(), from + perForward));
                    runChunk(group.getKey(), stop, chunk, variants, baseRun.cache(), batch, results, root);
                    step(bar, chunk.size());
                }
            }
        }
    }

    /** The variant's only edit if it is a region patch, else null. */
    private static RegionPatch singleRegionPatch(Variant v) {
        return v.edits().size() == 1 ? v.edits().get(0).region() : null;
    }

    /**
     * Which variants are the base run: no edits, or a region patch that writes exactly the values the base
     * run has there (e.g. positions before the corrupted token). They need no forward pass.
     */
    private static boolean[] unchangedByPatch(List<Variant> variants, ActivationCache base) {
        boolean[] unchanged = new boolean[variants.size()];
        // regions that differ, per hook, region setter and clean array
        Map<String, Map<PatchRegion, Map<NDArray, boolean[]>>> differs = new HashMap<>();
        for (int i = 0; i < variants.size(); i++) {
            if (variants.get(i).edits().isEmpty()) {
                unchanged[i] = true;
                continue;
            }
            RegionPatch r = singleRegionPatch(variants.get(i));
            if (r == null) {
                continue;
            }
            String hook = variants.get(i).edits().get(0).hookName();
            NDArray baseAct = base.get(hook);
            if (!baseAct.getShape().equals(r.clean().getShape())) {
                continue; // the patch itself reports the mismatch
            }
            boolean[] d = differs.computeIfAbsent(hook, h -> new HashMap<>())
                    .computeIfAbsent(r.region(), x -> new IdentityHashMap<>())
                    .computeIfAbsent(r.clean(), c -> r.region().differs(c, baseAct));
            int flat = r.region().flatIndex(baseAct.getShape(), r.index());
            unchanged[i] = flat >= 0 && !d[flat];
        }
        return unchanged;
    }

    /** One forward pass carrying the variants of a chunk, from block {@code start} to {@code stop}. */
    private void runChunk(int start, int stop, List<Integer> chunk, List<Variant> variants, ActivationCache base,
            long batch, Results results, NDManager root) {
        int k = chunk.size();
        int nLayers = model.config().nLayers();
        boolean shortformer = model.config().positionalEmbeddingType() == PositionalEmbeddingType.SHORTFORMER;
        try (NDManager cm = root.newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray pos = shortformer ? repeatRows(base.get("hook_pos_embed"), k, cm) : null;
            NDArray residual = repeatRows(base.get("resid_pre", start), k, cm);
            List<Hook> hooks = new ArrayList<>();
            for (Map.Entry<String, List<List<Edit>>> e : chunkEdits(chunk, variants).entrySet()) {
                List<List<Edit>> perVariant = e.getValue();
                hooks.add(Hook.of(e.getKey(), (act, hp) -> applyPerVariant(act, perVariant, batch, hp, chunk)));
            }
            if (results.metric() == null) {
                addCaptureHooks(hooks, results, chunk, batch);
            }
            try (HookScope s = model.hooks(hooks.toArray(Hook[]::new))) {
                for (int l = start; l < stop; l++) {
                    ForwardOptions o = ForwardOptions.builder().startAtLayer(l).stopAtLayer(l + 1)
                            .shortformerPosEmbed(pos).build();
                    NDArray next = model.run(residual, o).residual();
                    residual.close();
                    residual = next;
                }
            }
            PatchingMetric metric = results.metric();
            if (metric == null) {
                return;
            }
            NDArray finalResid = metric.positions() == null ? residual : metric.selectPositions(residual);
            NDArray logits = model.run(finalResid, ForwardOptions.builder().startAtLayer(nLayers).build()).logits();
            Shape ls = logits.getShape();
            NDArray perVariant = metric.applyStacked(logits.reshape(k, batch, ls.get(1), ls.get(2)));
            if (perVariant == null) {
                NDList parts = new NDList(k);
                for (int j = 0; j < k; j++) {
                    NDArray rows = logits.get(new NDIndex("{}:{}", j * batch, (j + 1) * batch));
                    parts.add(metric.applySelected(rows).reshape(1));
                }
                perVariant = NDArrays.concat(parts);
            }
            // one copy to Java for the whole chunk
            double[] v = perVariant.toType(DataType.FLOAT64, false).toDoubleArray();
            for (int j = 0; j < k; j++) {
                results.values()[chunk.get(j)] = v[j];
            }
        }
    }

    /** Per hook point, the edits of each variant of the chunk (empty where a variant has none). */
    private static Map<String, List<List<Edit>>> chunkEdits(List<Integer> chunk, List<Variant> variants) {
        Map<String, List<List<Edit>>> out = new LinkedHashMap<>();
        for (int j = 0; j < chunk.size(); j++) {
            for (Edit e : variants.get(chunk.get(j)).edits()) {
                List<List<Edit>> perVariant = out.computeIfAbsent(e.hookName(), n -> {
                    List<List<Edit>> empty = new ArrayList<>();
                    for (int i = 0; i < chunk.size(); i++) {
                        empty.add(new ArrayList<>());
                    }
                    return empty;
                });
                perVariant.get(j).add(e);
            }
        }
        return out;
    }

    /** A variant's edits per hook point, composed in order where several share a point. */
    private static Map<String, UnaryOperator<NDArray>> editsByHook(Variant v) {
        Map<String, UnaryOperator<NDArray>> out = new LinkedHashMap<>();
        for (Edit e : v.edits()) {
            out.merge(e.hookName(), e.fn(), (before, fn) -> a -> fn.apply(before.apply(a)));
        }
        return out;
    }

    /** Applies each variant's edits to its own rows of a stacked activation {@code [k * batch, ...]}. */
    private static NDArray applyPerVariant(NDArray act, List<List<Edit>> edits, long batch, HookPoint hp,
            List<Integer> chunk) {
        Shape s = act.getShape();
        long[] split = new long[s.dimension() + 1];
        split[0] = edits.size();
        split[1] = batch;
        for (int d = 1; d < s.dimension(); d++) {
            split[d + 1] = s.get(d);
        }
        NDArray perVariant = act.reshape(new Shape(split));
        RegionPatch first = edits.get(0).size() == 1 ? edits.get(0).get(0).region() : null;
        List<int[]> indices = new ArrayList<>();
        for (List<Edit> list : edits) {
            RegionPatch r = list.size() == 1 ? list.get(0).region() : null;
            if (first == null || r == null || r.region() != first.region() || r.clean() != first.clean()) {
                indices = null;
                break;
            }
            indices.add(r.index());
        }
        if (indices != null) {
            // Every variant patches a region of the same clean activation: one operation for all.
            return first.region().patchStacked(perVariant, indices, first.clean()).reshape(s);
        }
        NDList parts = new NDList(edits.size());
        for (int j = 0; j < edits.size(); j++) {
            NDArray rows = perVariant.get(j);
            for (Edit e : edits.get(j)) {
                rows = checked(e.fn().apply(rows), rows, hp, chunk.get(j));
            }
            parts.add(rows);
        }
        return NDArrays.stack(parts).reshape(s);
    }

    private static NDArray checked(NDArray out, NDArray rows, HookPoint hp, int variant) {
        if (out == null || !out.getShape().equals(rows.getShape())) {
            throw new IllegalArgumentException("patch " + variant + " at '" + hp.name() + "' returned "
                    + (out == null ? "null" : "shape " + out.getShape()) + " for an activation of shape " + rows.getShape());
        }
        return out;
    }

    /**
     * Hooks that copy the captured points into the results: the j-th block of {@code batch} rows belongs to
     * variant {@code variants.get(j)}.
     */
    private static void addCaptureHooks(List<Hook> hooks, Results results, List<Integer> variants, long batch) {
        for (String c : results.captures()) {
            hooks.add(Hook.of(c, (act, hp) -> {
                for (int j = 0; j < variants.size(); j++) {
                    NDArray rows = act.get(new NDIndex("{}:{}", j * batch, (j + 1) * batch));
                    results.captured().get(variants.get(j)).put(c, HookPoint.keep(rows, results.into()));
                }
                return null;
            }));
        }
    }

    /** {@code [batch, ...]} repeated k times along the batch axis: {@code [k * batch, ...]}, owned by {@code m}. */
    private static NDArray repeatRows(NDArray x, int k, NDManager m) {
        NDArray copy = x.duplicate();
        copy.attach(m);
        if (k == 1) {
            return copy;
        }
        long[] target = x.getShape().getShape().clone();
        target[0] *= k;
        return copy.expandDims(0).repeat(0, k).reshape(new Shape(target));
    }

    /** How many batch rows one fast forward pass may hold within the memory budget. */
    private int rowsPerForward(long nPositions, PatchingMetric metric) {
        if (options.maxRowsPerForward() > 0) {
            return options.maxRowsPerForward();
        }
        HookedTransformerConfig cfg = model.config();
        long d = cfg.dModel();
        long mlp = cfg.attnOnly() ? 0 : cfg.dMlp();
        long heads = cfg.nHeads();
        // Rough count of the floats alive while one block runs (residual copies, q/k/v/z, scores and pattern,
        // MLP intermediates) and while the logits and the metric are computed.
        long blockFloats = nPositions * (16 * d + 8 * mlp + 4 * heads * nPositions + 6 * heads * cfg.dHead());
        long logitPositions = metric == null ? 0 : metric.positions() == null ? nPositions : metric.positions().length;
        long logitFloats = 3 * logitPositions * cfg.dVocabOut();
        long bytesPerRow = Math.max(blockFloats, logitFloats) * cfg.dtype().getNumOfBytes();
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, options.memoryBudgetBytes() / bytesPerRow));
    }

    private static void step(ProgressBar bar, int n) {
        if (bar != null) {
            bar.stepBy(n);
        }
    }
}
