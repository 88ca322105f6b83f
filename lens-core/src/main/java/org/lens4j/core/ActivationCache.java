package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Activations recorded by {@link HookedTransformer#runWithCache}, by hook name in firing order
 * (TransformerLens's {@code ActivationCache}). The cache owns its arrays: {@link #close()} frees them.
 *
 * <p>Keys are full hook names; {@link #get(String)} also takes TransformerLens's shorthand
 * ({@code "pattern0"}, {@code "k6a"}) and {@link #get(String, int)} a short name with a layer (negative
 * layers count from the end). Gradients recorded with {@code inclBwd} are stored as
 * {@code "<hook name>_grad"}.
 */
public final class ActivationCache implements AutoCloseable {

    private final HookedTransformer model;
    private final NDManager manager;
    private final LinkedHashMap<String, NDArray> activations = new LinkedHashMap<>();
    private boolean hasBatchDim = true;

    /**
     * An empty cache whose arrays will belong to a new child of {@code parent}.
     *
     * @param model the model the activations came from (analyses read its weights and config)
     */
    public ActivationCache(HookedTransformer model, NDManager parent) {
        this.model = model;
        this.manager = parent.newSubManager();
    }

    /** Takes ownership of an activation and stores it under {@code name} (replacing any earlier value). */
    public void put(String name, NDArray activation) {
        activation.attach(manager);
        activations.put(name, activation);
    }

    /** The activation under a full name or TransformerLens shorthand. */
    public NDArray get(String name) {
        NDArray a = activations.get(name);
        if (a != null) {
            return a;
        }
        String full = ActNames.getActName(name);
        a = activations.get(full);
        if (a == null) {
            throw new IllegalArgumentException("no activation '" + name + "'" + (full.equals(name) ? "" : " ('" + full
                    + "')") + " in the cache; closest: " + NameSuggestions.closest(full, activations.keySet()));
        }
        return a;
    }

    /** The activation of a short name at a layer, e.g. {@code get("resid_pre", -1)}. */
    public NDArray get(String name, int layer) {
        return get(ActNames.getActName(name, normaliseLayer(layer), null));
    }

    /** The activation of a short name at a layer and sublayer type, e.g. {@code get("scale", 0, "ln1")}. */
    public NDArray get(String name, int layer, String layerType) {
        return get(ActNames.getActName(name, normaliseLayer(layer), layerType));
    }

    private int normaliseLayer(int layer) {
        return layer < 0 ? layer + model.config().nLayers() : layer;
    }

    /** Whether a full hook name is in the cache. */
    public boolean contains(String name) {
        return activations.containsKey(name);
    }

    /** The hook names, in firing order. */
    public List<String> keys() {
        return List.copyOf(activations.keySet());
    }

    /** An unmodifiable view of the activations by name, in firing order. */
    public Map<String, NDArray> asMap() {
        return Collections.unmodifiableMap(activations);
    }

    /** The number of cached activations. */
    public int size() {
        return activations.size();
    }

    /** The model the activations came from. */
    public HookedTransformer model() {
        return model;
    }

    /** The manager that owns the cached arrays. */
    public NDManager manager() {
        return manager;
    }

    /** Whether activations still have their leading batch axis. */
    public boolean hasBatchDim() {
        return hasBatchDim;
    }

    /**
     * Drops the batch axis of every activation, keeping batch element 0 (TransformerLens's
     * {@code remove_batch_dim}, which requires a batch of one).
     *
     * @return this cache
     */
    public ActivationCache removeBatchDim() {
        if (!hasBatchDim) {
            return this;
        }
        for (Map.Entry<String, NDArray> e : new ArrayList<>(activations.entrySet())) {
            if (e.getValue().getShape().get(0) != 1) {
                throw new IllegalStateException("removeBatchDim needs a batch of 1, but '" + e.getKey()
                        + "' has shape " + e.getValue().getShape());
            }
        }
        for (Map.Entry<String, NDArray> e : activations.entrySet()) {
            NDArray old = e.getValue();
            NDArray squeezed = old.squeeze(0);
            squeezed.attach(manager);
            e.setValue(squeezed);
        }
        hasBatchDim = false;
        return this;
    }

    /** Frees every cached array. */
    @Override
    public void close() {
        activations.clear();
        manager.close();
    }

    @Override
    public String toString() {
        return "ActivationCache with keys " + activations.keySet();
    }
}
