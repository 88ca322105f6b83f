package org.lens4j.analysis.patching;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;

/**
 * A two-layer attention-only model with hand-set weights whose circuit is known: it predicts the token at
 * position 2.
 * <ul>
 *   <li>L0H0 attends from every position to position 2 and copies its token into a "carry" subspace;</li>
 *   <li>L1H0 attends from every position to position 3 and copies the carry subspace into an "out" subspace,
 *       which the unembedding reads (V-composition L0H0 -> L1H0);</li>
 *   <li>the other two heads write nothing.</li>
 * </ul>
 * Residual stream (d_model = 3 * vocab + n_ctx): token one-hot | position one-hot | carry | out. No
 * normalisation, so every step is exact.
 */
final class CopyCircuitModel {

    static final int VOCAB = 10;
    static final int CTX = 8;
    private static final int TOKEN = 0;
    private static final int POS = VOCAB;
    private static final int CARRY = VOCAB + CTX;
    private static final int OUT = 2 * VOCAB + CTX;
    private static final int D_MODEL = 3 * VOCAB + CTX;
    /** Query/key size: scores of 100 / sqrt(d_head) make the attention one-hot to float precision. */
    private static final float SHARP = 10f;
    private static final float LOGIT = 4f;

    private CopyCircuitModel() {}

    static HookedTransformer build(NDManager m) {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(2).dModel(D_MODEL).nHeads(2)
                .dHead(VOCAB).dVocab(VOCAB).nCtx(CTX).attnOnly(true).normalizationType(NormalizationType.NONE)
                .actFn("relu").build();
        Map<String, NDArray> weights = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : HookedTransformer.expectedShapes(cfg).entrySet()) {
            weights.put(e.getKey(), m.zeros(e.getValue()));
        }
        for (int t = 0; t < VOCAB; t++) {
            weights.get("embed.W_E").setScalar(new NDIndex(t, TOKEN + t), 1f);
            weights.get("unembed.W_U").setScalar(new NDIndex(OUT + t, t), LOGIT);
        }
        for (int p = 0; p < CTX; p++) {
            weights.get("pos_embed.W_pos").setScalar(new NDIndex(p, POS + p), 1f);
        }
        mover(weights, 0, 2, TOKEN, CARRY);
        mover(weights, 1, 3, CARRY, OUT);
        return HookedTransformer.fromStateDict(cfg, weights);
    }

    /** Head 0 of a layer: attends to {@code source}, copies the subspace at {@code from} to {@code to}. */
    private static void mover(Map<String, NDArray> w, int layer, int source, int from, int to) {
        String p = "blocks." + layer + ".attn.";
        w.get(p + "b_Q").setScalar(new NDIndex(0, 0), SHARP);
        w.get(p + "W_K").setScalar(new NDIndex(0, POS + source, 0), SHARP);
        for (int i = 0; i < VOCAB; i++) {
            w.get(p + "W_V").setScalar(new NDIndex(0, from + i, i), 1f);
            w.get(p + "W_O").setScalar(new NDIndex(0, i, to + i), 1f);
        }
    }
}
