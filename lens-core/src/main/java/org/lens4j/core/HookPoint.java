package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A named point in the forward pass where hooks can read or replace the activation
 * (TransformerLens's {@code HookPoint}). Hooks run in the order they were added, each seeing the
 * previous one's output.
 */
public final class HookPoint {

    private static final Pattern LAYER = Pattern.compile("^blocks\\.(\\d+)\\.");

    /** A registered hook function with its lifetime. */
    record Registration(HookFunction function, boolean permanent, int level, boolean observer) {}

    private final String name;
    private final int layer;
    private final List<Registration> hooks = new ArrayList<>();

    HookPoint(String name) {
        this.name = name;
        Matcher m = LAYER.matcher(name);
        this.layer = m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** The full TransformerLens name, e.g. {@code blocks.3.attn.hook_pattern}. */
    public String name() {
        return name;
    }

    /** The block index parsed from the name, or -1 for points outside the blocks. */
    public int layer() {
        return layer;
    }

    /** Whether any hook is registered here. */
    public boolean hasHooks() {
        return !hooks.isEmpty();
    }

    void add(HookFunction fn, boolean permanent, int level) {
        hooks.add(new Registration(fn, permanent, level, false));
    }

    /** Adds a hook that only reads activations (a cache), so the model may share one computation. */
    void addObserver(HookFunction fn, int level) {
        hooks.add(new Registration(fn, false, level, true));
    }

    /** Whether a hook that may change the activation is registered here. */
    public boolean hasEditingHooks() {
        for (Registration r : hooks) {
            if (!r.observer()) {
                return true;
            }
        }
        return false;
    }

    void removeNonPermanent(int level) {
        hooks.removeIf(r -> !r.permanent() && r.level() >= level);
    }

    void removeAll(boolean includingPermanent) {
        hooks.removeIf(r -> includingPermanent || !r.permanent());
    }

    /**
     * Runs every hook on an activation (called by the model's components at this point of the pass). Each replacement is checked to have the activation's shape and
     * dtype, so a wrong hook fails here with this point's name rather than deep inside the model.
     */
    public NDArray fire(NDArray activation) {
        if (hooks.isEmpty()) {
            return activation;
        }
        NDArray x = activation;
        // Iterate over a snapshot: a hook may add or remove hooks.
        for (Registration r : List.copyOf(hooks)) {
            NDArray out;
            try {
                out = r.function().apply(x, this);
            } catch (HookException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new HookException("hook on '" + name + "' threw " + e, e);
            }
            if (out != null && out != x) {
                if (!out.getShape().equals(x.getShape())) {
                    throw new HookException("hook on '" + name + "' returned shape " + out.getShape()
                            + " but the activation has shape " + x.getShape());
                }
                if (out.getDataType() != x.getDataType()) {
                    throw new HookException("hook on '" + name + "' returned dtype " + out.getDataType()
                            + " but the activation has dtype " + x.getDataType());
                }
                x = out;
            }
        }
        return x;
    }

    /**
     * Copies an array seen inside a hook into a manager the caller owns, so it outlives the forward pass
     * (arrays inside the pass are freed when it ends).
     *
     * @return the copy, owned by {@code manager}
     */
    public static NDArray keep(NDArray array, NDManager manager) {
        NDArray copy = array.duplicate();
        NDScope.unregister(copy);
        copy.attach(manager);
        return copy;
    }

    @Override
    public String toString() {
        return "HookPoint(" + name + ")";
    }
}
