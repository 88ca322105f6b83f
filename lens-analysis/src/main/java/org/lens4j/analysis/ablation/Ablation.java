package org.lens4j.analysis.ablation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Objects;
import java.util.Random;
import org.lens4j.core.ActNames;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.Hook;
import org.lens4j.core.HookPoint;

/**
 * An ablation as a hook: replaces an activation, or chosen heads, neurons and positions of it, by zero, by
 * its mean over a reference set of inputs, or by its value on a randomly drawn reference input (resampling).
 * Immutable; {@link #hook()} gives the {@link Hook} for {@code runWithHooks} or {@code model.hooks(...)}.
 *
 * <pre>{@code
 * Hook h = Ablation.zero("z", 1).heads(3).hook();                      // L1H3's output, all positions
 * Hook m = Ablation.mean("post", 0, referenceCache).neurons(17, 42).positions(-1).hook();
 * NDArray logits = model.runWithHooks(tokens, h, m);
 * }</pre>
 *
 * <p>Axes: heads are axis 2 of {@code [batch, pos, head, ...]} activations (q, k, v, z, result, the split
 * inputs) and axis 1 of patterns and scores {@code [batch, head, query_pos, key_pos]}; positions are axis 1,
 * or the query position of patterns and scores; neurons are the last axis (MLP neurons for {@code mlp.hook_pre}
 * / {@code hook_post}, residual dimensions for a residual stream). Negative indices count from the end. With
 * no selection the whole activation is replaced; several selections ablate their intersection.
 */
public final class Ablation {

    /** How the ablated values are chosen. */
    public enum Method {
        /** Zero. */
        ZERO,
        /** The mean over the reference inputs, per position. */
        MEAN,
        /** The value on a reference input drawn at random for each batch row (new draws on every forward pass). */
        RESAMPLE
    }

    private final String hookName;
    private final Method method;
    private final ActivationCache reference;
    private final Random random;
    private final int[] heads;
    private final int[] neurons;
    private final int[] positions;

    private Ablation(String hookName, Method method, ActivationCache reference, Random random, int[] heads,
            int[] neurons, int[] positions) {
        this.hookName = hookName;
        this.method = method;
        this.reference = reference;
        this.random = random;
        this.heads = heads;
        this.neurons = neurons;
        this.positions = positions;
    }

    /** Zero ablation of a hook point (full name or shorthand, e.g. {@code "blocks.0.hook_mlp_out"}). */
    public static Ablation zero(String hookName) {
        return new Ablation(ActNames.getActName(hookName), Method.ZERO, null, null, null, null, null);
    }

    /** Zero ablation of a short activation name at a layer, e.g. {@code zero("z", 3)}. */
    public static Ablation zero(String name, int layer) {
        return zero(ActNames.getActName(name, layer));
    }

    /**
     * Mean ablation: the activation's mean over the batch of a reference run, per position.
     *
     * @param reference a cache of the reference inputs {@code [reference batch, pos, ...]}; it must stay open
     *     while the hook is used
     */
    public static Ablation mean(String hookName, ActivationCache reference) {
        return new Ablation(ActNames.getActName(hookName), Method.MEAN, checked(reference), null, null, null, null);
    }

    /** Mean ablation of a short activation name at a layer. */
    public static Ablation mean(String name, int layer, ActivationCache reference) {
        return mean(ActNames.getActName(name, layer), reference);
    }

    /**
     * Resample ablation: each batch row gets the activation of a reference input drawn uniformly at random
     * (with {@code java.util.Random(seed)}, new draws on each forward pass).
     *
     * @param reference a cache of the reference inputs {@code [reference batch, pos, ...]}; it must stay open
     *     while the hook is used
     */
    public static Ablation resample(String hookName, ActivationCache reference, long seed) {
        return new Ablation(ActNames.getActName(hookName), Method.RESAMPLE, checked(reference), new Random(seed), null,
                null, null);
    }

    /** Resample ablation of a short activation name at a layer. */
    public static Ablation resample(String name, int layer, ActivationCache reference, long seed) {
        return resample(ActNames.getActName(name, layer), reference, seed);
    }

    private static ActivationCache checked(ActivationCache reference) {
        Objects.requireNonNull(reference, "reference");
        if (!reference.hasBatchDim()) {
            throw new IllegalArgumentException("the reference cache has no batch axis (removeBatchDim)");
        }
        return reference;
    }

    /** This ablation restricted to some heads. */
    public Ablation heads(int... h) {
        return new Ablation(hookName, method, reference, random, nonEmpty(h, "heads"), neurons, positions);
    }

    /** This ablation restricted to some neurons (last axis). */
    public Ablation neurons(int... n) {
        return new Ablation(hookName, method, reference, random, heads, nonEmpty(n, "neurons"), positions);
    }

    /** This ablation restricted to some positions. */
    public Ablation positions(int... p) {
        return new Ablation(hookName, method, reference, random, heads, neurons, nonEmpty(p, "positions"));
    }

    private static int[] nonEmpty(int[] v, String what) {
        if (v.length == 0) {
            throw new IllegalArgumentException("no " + what + " given");
        }
        return v.clone();
    }

    /** The full hook name. */
    public String hookName() {
        return hookName;
    }

    /** The method. */
    public Method method() {
        return method;
    }

    /** The hook that applies this ablation. */
    public Hook hook() {
        return Hook.of(hookName, (act, hp) -> apply(act, hp));
    }

    private NDArray apply(NDArray act, HookPoint hp) {
        Shape s = act.getShape();
        boolean patternLike = hp.name().endsWith("hook_pattern") || hp.name().endsWith("hook_attn_scores");
        boolean perHead = patternLike || hp.name().contains(".attn.hook_") || hp.name().endsWith("_input")
                || hp.name().endsWith("hook_attn_in");
        // selected indices per activation axis (null = all)
        int[][] selected = new int[s.dimension()][];
        if (heads != null) {
            if (!perHead) {
                throw new IllegalArgumentException("'" + hp.name() + "' has no head axis; ablate heads at q, k, v, z, "
                        + "result or pattern");
            }
            select(selected, patternLike ? 1 : 2, heads, s, "head");
        }
        if (positions != null) {
            select(selected, patternLike ? 2 : 1, positions, s, "position");
        }
        if (neurons != null) {
            if (patternLike) {
                throw new IllegalArgumentException("'" + hp.name() + "' has no neuron axis");
            }
            select(selected, s.dimension() - 1, neurons, s, "neuron");
        }
        NDArray value = replacement(act, hp);
        long[] maskShape = new long[s.dimension()];
        Arrays.fill(maskShape, 1);
        boolean all = true;
        for (int a = 0; a < selected.length; a++) {
            if (selected[a] != null) {
                maskShape[a] = s.get(a);
                all = false;
            }
        }
        if (all) {
            return value;
        }
        NDArray mask = act.getManager().create(mask(selected, maskShape), new Shape(maskShape)).broadcast(s);
        return NDArrays.where(mask, value, act);
    }

    private static void select(int[][] selected, int axis, int[] indices, Shape s, String what) {
        if (axis >= s.dimension()) {
            throw new IllegalArgumentException("an activation of shape " + s + " has no " + what + " axis");
        }
        long size = s.get(axis);
        int[] resolved = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            long v = indices[i] < 0 ? indices[i] + size : indices[i];
            if (v < 0 || v >= size) {
                throw new IllegalArgumentException(what + " " + indices[i] + " is out of range for " + size + " ("
                        + what + " axis " + axis + " of shape " + s + ")");
            }
            resolved[i] = (int) v;
        }
        selected[axis] = resolved;
    }

    /** True where every selected axis is at a selected index: a mask of {@code maskShape}. */
    private static boolean[] mask(int[][] selected, long[] maskShape) {
        int n = 1;
        for (long d : maskShape) {
            n *= (int) d;
        }
        boolean[] mask = new boolean[n];
        for (int flat = 0; flat < n; flat++) {
            int rest = flat;
            boolean in = true;
            for (int a = maskShape.length - 1; a >= 0 && in; a--) {
                int idx = (int) (rest % maskShape[a]);
                rest /= (int) maskShape[a];
                if (selected[a] != null) {
                    in = contains(selected[a], idx);
                }
            }
            mask[flat] = in;
        }
        return mask;
    }

    private static boolean contains(int[] values, int v) {
        for (int x : values) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    /** The replacement values, of the activation's shape. */
    private NDArray replacement(NDArray act, HookPoint hp) {
        Shape s = act.getShape();
        if (method == Method.ZERO) {
            return act.zerosLike();
        }
        NDArray ref = reference.get(hp.name());
        if (!ref.getShape().slice(1).equals(s.slice(1))) {
            throw new IllegalArgumentException("reference activation '" + hp.name() + "' has shape " + ref.getShape()
                    + " but the ablated one has " + s + " (they must agree after the batch axis)");
        }
        if (method == Method.MEAN) {
            // a dense copy: later hooks may edit the activation in place
            return ref.mean(new int[] {0}, true).broadcast(s).toType(act.getDataType(), false).duplicate();
        }
        long[] rows = new long[(int) s.get(0)];
        for (int b = 0; b < rows.length; b++) {
            rows[b] = random.nextInt((int) ref.getShape().get(0));
        }
        return ref.get(new NDIndex("{}", act.getManager().create(rows))).toType(act.getDataType(), false);
    }

    @Override
    public String toString() {
        return method.name().toLowerCase() + " ablation of " + hookName
                + (heads == null ? "" : " heads " + Arrays.toString(heads))
                + (neurons == null ? "" : " neurons " + Arrays.toString(neurons))
                + (positions == null ? "" : " positions " + Arrays.toString(positions));
    }
}
