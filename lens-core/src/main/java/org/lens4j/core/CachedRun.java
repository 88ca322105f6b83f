package org.lens4j.core;

import ai.djl.ndarray.NDArray;

/**
 * The result of {@link HookedTransformer#runWithCache}: the forward output and the activation cache,
 * TransformerLens's {@code (logits, cache)} pair. Closing it frees both.
 *
 * @param output the forward output
 * @param cache the cached activations
 */
public record CachedRun(Output output, ActivationCache cache) implements AutoCloseable {

    /** The logits {@code [batch, pos, d_vocab_out]} (null if the pass did not compute them). */
    public NDArray logits() {
        return output.logits();
    }

    @Override
    public void close() {
        output.close();
        cache.close();
    }
}
