package org.lens4j.core;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * A hook function bound to the hook points it runs on: one name, or every name a filter accepts
 * (TransformerLens's {@code (name_or_filter, fn)} pairs).
 *
 * @param name the hook point name, or {@code null} when a filter selects the points
 * @param filter selects hook point names when {@code name} is null
 * @param function what runs at each selected point
 */
public record Hook(String name, Predicate<String> filter, HookFunction function) {

    /** Validates that exactly one of name and filter is given. */
    public Hook {
        Objects.requireNonNull(function, "function");
        if ((name == null) == (filter == null)) {
            throw new IllegalArgumentException("a Hook needs exactly one of a name or a filter");
        }
    }

    /** A hook on one named hook point, e.g. {@code Hook.of("blocks.0.attn.hook_pattern", fn)}. */
    public static Hook of(String name, HookFunction function) {
        return new Hook(Objects.requireNonNull(name, "name"), null, function);
    }

    /** A hook on every hook point whose name the filter accepts. */
    public static Hook matching(Predicate<String> filter, HookFunction function) {
        return new Hook(null, Objects.requireNonNull(filter, "filter"), function);
    }
}
