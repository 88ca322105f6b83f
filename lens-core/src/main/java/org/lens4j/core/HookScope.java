package org.lens4j.core;

/**
 * Hooks added for a block of code, TransformerLens's {@code with model.hooks(...)}: closing the scope
 * removes every non-permanent hook added inside it, also when the block ends with an exception.
 * Scopes nest.
 */
public final class HookScope implements AutoCloseable {

    private final HookedTransformer model;
    private final int level;
    private boolean closed;

    HookScope(HookedTransformer model, int level) {
        this.model = model;
        this.level = level;
    }

    /** The nesting level of this scope (1 for the outermost). */
    public int level() {
        return level;
    }

    /** Removes the hooks added at this level or deeper. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            model.exitHookLevel(level);
        }
    }
}
