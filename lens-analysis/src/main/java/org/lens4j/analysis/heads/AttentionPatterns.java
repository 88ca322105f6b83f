package org.lens4j.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import org.lens4j.core.ActNames;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.ReturnType;

/** The attention patterns of every layer for a batch of tokens, copied to the JVM heap. */
final class AttentionPatterns {

    private final float[][] byLayer;
    private final int batch;
    private final int heads;
    private final int positions;

    private AttentionPatterns(float[][] byLayer, int batch, int heads, int positions) {
        this.byLayer = byLayer;
        this.batch = batch;
        this.heads = heads;
        this.positions = positions;
    }

    /**
     * Runs the model once, caching only {@code blocks.*.attn.hook_pattern} and skipping the unembedding.
     *
     * @param tokens {@code [batch, pos]}
     */
    static AttentionPatterns of(HookedTransformer model, NDArray tokens) {
        int layers = model.config().nLayers();
        List<String> names = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            names.add(ActNames.getActName("pattern", l));
        }
        CacheOptions options = CacheOptions.filter(names::contains)
                .withForward(ForwardOptions.builder().returnType(ReturnType.NONE).build());
        try (CachedRun run = model.runWithCache(tokens, options)) {
            float[][] byLayer = new float[layers][];
            long[] shape = null;
            for (int l = 0; l < layers; l++) {
                NDArray p = run.cache().get(names.get(l)); // [batch, head, q_pos, k_pos]
                shape = p.getShape().getShape();
                byLayer[l] = p.toType(DataType.FLOAT32, false).toFloatArray();
            }
            return new AttentionPatterns(byLayer, (int) shape[0], (int) shape[1], (int) shape[2]);
        }
    }

    /** {@code pattern[layer][b, head, query, key]}. */
    double get(int layer, int b, int head, int query, int key) {
        return byLayer[layer][((b * heads + head) * positions + query) * positions + key];
    }

    int layers() {
        return byLayer.length;
    }

    int batch() {
        return batch;
    }

    int heads() {
        return heads;
    }
}
