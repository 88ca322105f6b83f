package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.function.Supplier;

/**
 * Native-memory discipline for computations that chain several DJL operations: the intermediate
 * arrays are freed at once, and only the results that are explicitly kept survive, in the manager
 * that owns them.
 */
final class Scopes {

    private Scopes() {}

    /**
     * Runs {@code body} in a fresh {@link NDScope}: every array created inside is closed when it
     * returns (also on an exception), except those passed to {@link #keep}.
     *
     * @param body the computation
     * @param <T> its result type
     * @return the body's result
     */
    static <T> T run(Supplier<T> body) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return body.get();
        }
    }

    /**
     * Takes an array created inside {@link #run} out of the scope and hands it to {@code owner}.
     *
     * @param x the array to keep
     * @param owner its new manager
     * @return {@code x}
     */
    static NDArray keep(NDArray x, NDManager owner) {
        NDScope.unregister(x);
        x.attach(owner);
        return x;
    }
}
