package org.lens4j.analysis.probes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.Hook;
import org.lens4j.core.HookPoint;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.Output;
import org.lens4j.core.ReturnType;

/** Reads one hook's activation with the shortest forward pass that reaches it. */
final class HookActivations {

    private HookActivations() {}

    /**
     * Runs the model as far as the hook (the blocks after its layer are skipped, nothing is unembedded)
     * and keeps the activation there.
     *
     * @param model the model; its other hooks run as usual
     * @param tokens {@code [batch, pos]}
     * @param hook a full hook point name
     * @param owner the manager of the result
     * @return the activation, e.g. {@code [batch, pos, d_model]}, owned by {@code owner}
     */
    static NDArray read(HookedTransformer model, NDArray tokens, String hook, NDManager owner) {
        NDArray[] kept = new NDArray[1];
        Hook capture = Hook.of(hook, (act, point) -> {
            kept[0] = HookPoint.keep(act, owner);
            return null;
        });
        ForwardOptions.Builder options = ForwardOptions.builder().returnType(ReturnType.NONE);
        if (!hook.startsWith("ln_final.")) {
            options.stopAtLayer(model.hookPoint(hook).layer() + 1);
        }
        try (Output ignored = model.runWithHooks(tokens, options.build(), capture)) {
            // only the captured activation is wanted
        }
        return kept[0];
    }
}
