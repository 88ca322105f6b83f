package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Objects;

/**
 * A stack of residual-stream components with one label per component, what TransformerLens returns from
 * {@code accumulated_resid(..., return_labels=True)} and its siblings: {@code stack} is {@code [component,
 * ...]} (typically {@code [component, batch, pos, d_model]}, or {@code [component, batch, d_model]} after an
 * int position slice) and {@code labels.get(i)} names {@code stack[i]} ({@code "0_pre"}, {@code "L1H3"},
 * {@code "embed"}, ...).
 *
 * <p>The stack belongs to the {@link ActivationCache} that made it and is freed with it at the latest;
 * {@link #close()} frees it earlier.
 *
 * @param stack {@code [component, ...]}
 * @param labels one label per component, in order
 */
public record LabelledStack(NDArray stack, List<String> labels) implements AutoCloseable {

    /** Checks that there is one label per component. */
    public LabelledStack {
        Objects.requireNonNull(stack, "stack");
        labels = List.copyOf(labels);
        if (stack.getShape().dimension() == 0 || stack.getShape().get(0) != labels.size()) {
            throw new IllegalArgumentException("a stack of shape " + stack.getShape() + " needs one label per "
                    + "component, got " + labels.size());
        }
    }

    /** The number of components. */
    public int size() {
        return labels.size();
    }

    /** The index of a component by label; an unknown label throws, listing the labels. */
    public int indexOf(String label) {
        int i = labels.indexOf(label);
        if (i < 0) {
            throw new IllegalArgumentException("no component '" + label + "' in the stack; labels: " + labels);
        }
        return i;
    }

    /** One component by label, {@code stack[indexOf(label)]} (a new array owned by the stack's manager). */
    public NDArray get(String label) {
        return stack.get(indexOf(label));
    }

    /** Frees the stack. */
    @Override
    public void close() {
        stack.close();
    }
}
