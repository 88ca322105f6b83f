package org.lens4j.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import org.lens4j.core.ActNames;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.ReturnType;

/** The attention patterns of every layer, from one forward pass that caches nothing else. */
final class AttentionPatterns {

    private AttentionPatterns() {}

    /** The hook names {@code blocks.{l}.attn.hook_pattern}, by layer. */
    static List<String> names(HookedTransformer model) {
        List<String> names = new ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            names.add(ActNames.getActName("pattern", l));
        }
        return names;
    }

    /**
     * Runs the model (skipping the unembedding) and keeps the patterns.
     *
     * @param tokens {@code [batch, pos]}
     * @return per layer {@code [batch, n_heads, query_pos, key_pos]}, owned by {@code manager}
     */
    static NDArray[] of(HookedTransformer model, NDArray tokens, NDManager manager) {
        List<String> names = names(model);
        CacheOptions options = CacheOptions.filter(names::contains)
                .withForward(ForwardOptions.builder().returnType(ReturnType.NONE).build());
        NDArray[] out = new NDArray[names.size()];
        try (CachedRun run = model.runWithCache(tokens, options)) {
            for (int l = 0; l < out.length; l++) {
                out[l] = run.cache().get(names.get(l)).duplicate();
                out[l].attach(manager);
            }
        }
        return out;
    }
}
