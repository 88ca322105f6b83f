package org.lens4j.core;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * Options of {@link HookedTransformer#runWithCache}: which hooks to keep, whether to record gradients,
 * and the forward options.
 *
 * @param namesFilter which hook names to cache
 * @param inclBwd also record {@code <name>_grad}, the gradient of the (scalar) output with respect to
 *     each cached activation; the return type must then be a mean loss
 * @param removeBatchDim drop the batch axis (batch of one) from every cached activation
 * @param forward the forward options
 */
public record CacheOptions(Predicate<String> namesFilter, boolean inclBwd, boolean removeBatchDim,
        ForwardOptions forward) {

    /** Validates the options. */
    public CacheOptions {
        Objects.requireNonNull(namesFilter, "namesFilter");
        Objects.requireNonNull(forward, "forward");
    }

    /** Cache every hook, logits output. */
    public static CacheOptions all() {
        return new CacheOptions(n -> true, false, false, ForwardOptions.DEFAULT);
    }

    /** Cache the hooks the filter accepts. */
    public static CacheOptions filter(Predicate<String> namesFilter) {
        return new CacheOptions(namesFilter, false, false, ForwardOptions.DEFAULT);
    }

    /** These options with other forward options. */
    public CacheOptions withForward(ForwardOptions options) {
        return new CacheOptions(namesFilter, inclBwd, removeBatchDim, options);
    }

    /** These options with gradients recorded (and the mean loss as output). */
    public CacheOptions withBackward() {
        return new CacheOptions(namesFilter, true, removeBatchDim,
                forward.toBuilder().returnType(ReturnType.LOSS).lossPerToken(false).build());
    }

    /** These options with the batch axis removed. */
    public CacheOptions withRemoveBatchDim() {
        return new CacheOptions(namesFilter, inclBwd, true, forward);
    }
}
