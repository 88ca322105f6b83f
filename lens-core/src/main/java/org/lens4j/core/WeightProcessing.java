package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.HookedTransformerConfig.PositionalEmbeddingType;

/**
 * TransformerLens's weight processing ({@code load_and_process_state_dict}), in its order and with its
 * conditions: fold LayerNorm, centre writing weights, centre the unembedding, fold value biases (and,
 * on request, refactor the factored attention matrices).
 *
 * <p>Conditions, as TransformerLens 2.x: shortformer models get only value-bias folding; folding is
 * skipped for models without normalisation or whose state dict holds no norm weights; centring the
 * writing weights needs a LayerNorm (LN/LNPre) model without {@code final_rms}; RMS norms fold their
 * weight only (no bias, no centring). A quirk kept for bit-parity: with {@code final_rms} and LN blocks,
 * {@code W_U} is still centred over d_model when the final norm is folded.
 */
public final class WeightProcessing {

    /** A processed config and state dict. */
    public record Result(HookedTransformerConfig config, LinkedHashMap<String, NDArray> stateDict,
            List<String> stepsApplied) {}

    private WeightProcessing() {}

    /**
     * Processes a state dict. Arrays of the input map that are replaced are closed; the result holds the
     * new ones (created in the same manager as the arrays they replace).
     *
     * @param cfg the config the state dict belongs to (unprocessed: LN norms for a model with LN weights)
     * @param stateDict TransformerLens names; missing biases and norm weights are filled as when loading
     */
    public static Result process(HookedTransformerConfig cfg, Map<String, NDArray> stateDict, ProcessingOptions o) {
        LinkedHashMap<String, NDArray> sd = new LinkedHashMap<>(stateDict);
        List<String> steps = new ArrayList<>();
        boolean shortformer = cfg.positionalEmbeddingType() == PositionalEmbeddingType.SHORTFORMER;
        NormalizationType norm = cfg.normalizationType();
        boolean foldLn = o.foldLn() && !shortformer && norm != NormalizationType.NONE && hasNormWeights(cfg, sd);
        if (foldLn) {
            foldLayerNorm(cfg, sd);
            steps.add("fold_ln");
            NormalizationType folded = norm.isLayerNorm() ? NormalizationType.LN_PRE : NormalizationType.RMS_PRE;
            cfg = cfg.toBuilder().normalizationType(folded).build();
        }
        if (o.centerWritingWeights() && !shortformer && cfg.normalizationType().isLayerNorm() && !cfg.finalRms()) {
            centerWritingWeights(cfg, sd);
            steps.add("center_writing_weights");
        }
        if (o.centerUnembed() && !shortformer) {
            NDArray wU = sd.get("unembed.W_U");
            replace(sd, "unembed.W_U", wU.sub(wU.mean(new int[] {1}, true)));
            NDArray bU = bias(sd, "unembed.b_U", cfg.dVocabOut(), wU.getManager());
            replace(sd, "unembed.b_U", bU.sub(bU.mean()));
            steps.add("center_unembed");
        }
        if (o.foldValueBiases()) {
            foldValueBiases(cfg, sd);
            steps.add("fold_value_biases");
        }
        if (o.refactorFactoredAttnMatrices()) {
            refactorFactoredAttnMatrices(cfg, sd);
            steps.add("refactor_factored_attn_matrices");
        }
        return new Result(cfg, sd, steps);
    }

    private static boolean hasNormWeights(HookedTransformerConfig cfg, Map<String, NDArray> sd) {
        return sd.containsKey("ln_final.w") || (cfg.nLayers() > 0 && sd.containsKey("blocks.0.ln1.w"));
    }

    private static void foldLayerNorm(HookedTransformerConfig cfg, LinkedHashMap<String, NDArray> sd) {
        boolean centre = cfg.normalizationType().isLayerNorm();
        boolean biases = centre;
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".";
            NDArray w1 = sd.remove(p + "ln1.w");
            NDArray b1 = sd.remove(p + "ln1.b");
            for (String x : new String[] {"Q", "K", "V"}) {
                foldInto(sd, p + "attn.W_" + x, p + "attn.b_" + x, w1, biases ? b1 : null, centre, 1, cfg.dHead());
            }
            close(w1, b1);
            if (!cfg.attnOnly()) {
                NDArray w2 = sd.remove(p + "ln2.w");
                NDArray b2 = sd.remove(p + "ln2.b");
                foldInto(sd, p + "mlp.W_in", p + "mlp.b_in", w2, biases ? b2 : null, centre, 0, cfg.dMlp());
                close(w2, b2);
                if (cfg.actFn() != null && cfg.actFn().startsWith("solu")) {
                    NDArray wm = sd.remove(p + "mlp.ln.w");
                    NDArray bm = sd.remove(p + "mlp.ln.b");
                    foldInto(sd, p + "mlp.W_out", p + "mlp.b_out", wm, biases ? bm : null, centre, 0, cfg.dModel());
                    close(wm, bm);
                }
            }
        }
        NDArray wf = sd.remove("ln_final.w");
        NDArray bf = sd.remove("ln_final.b");
        // TransformerLens folds the final bias only without final_rms, but centres W_U for any LN model.
        foldInto(sd, "unembed.W_U", "unembed.b_U", wf, cfg.finalRms() ? null : bf, centre, 0, cfg.dVocabOut());
        close(wf, bf);
    }

    /**
     * Folds a norm's weight {@code w [n]} and bias {@code b [n]} into the matrix {@code W} that reads its
     * output ({@code n} is W's input axis {@code inAxis}) and that matrix's bias:
     * {@code b_W += sum_n W[n] b[n]}, {@code W[n] *= w[n]}, then optionally centres W over n.
     */
    private static void foldInto(LinkedHashMap<String, NDArray> sd, String wKey, String bKey, NDArray w, NDArray b,
            boolean centre, int inAxis, long outSize) {
        NDArray weight = sd.get(wKey);
        Shape ws = weight.getShape();
        // Broadcast [n] along W's input axis: [1, n, 1] for [H, n, d_head], [n, 1] for [n, out].
        Shape vecShape = inAxis == 1 ? new Shape(1, ws.get(1), 1) : new Shape(ws.get(0), 1);
        if (b != null) {
            NDArray oldBias = bias(sd, bKey, inAxis == 1 ? new Shape(ws.get(0), ws.get(2)) : new Shape(outSize),
                    weight.getManager());
            // Product then sum, as TransformerLens (a matmul rounds differently: 1e-5 off in GPT-2 losses). The
            // product is as big as W: free it at once (W_U's is 150 MB for GPT-2), not when the manager closes.
            try (NDArray product = weight.mul(b.reshape(vecShape)); NDArray folded = product.sum(new int[] {inAxis})) {
                replace(sd, bKey, oldBias.add(folded));
            }
        }
        NDArray scaled = w == null ? weight.duplicate() : weight.mul(w.reshape(vecShape));
        if (centre) {
            // In place: scaled is a new array, and a second W-sized copy would be 150 MB more for GPT-2's W_U.
            try (NDArray mean = scaled.mean(new int[] {inAxis}, true)) {
                scaled.subi(mean);
            }
        }
        replace(sd, wKey, scaled);
    }

    private static void centerWritingWeights(HookedTransformerConfig cfg, LinkedHashMap<String, NDArray> sd) {
        centreLastAxis(sd, "embed.W_E");
        centreLastAxis(sd, "pos_embed.W_pos");
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".";
            centreLastAxis(sd, p + "attn.W_O");
            centreLastAxis(sd, p + "attn.b_O");
            if (!cfg.attnOnly()) {
                centreLastAxis(sd, p + "mlp.W_out");
                centreLastAxis(sd, p + "mlp.b_out");
            }
        }
    }

    private static void centreLastAxis(LinkedHashMap<String, NDArray> sd, String key) {
        NDArray a = sd.get(key);
        if (a != null) {
            replace(sd, key, a.sub(a.mean(new int[] {-1}, true)));
        }
    }

    private static void foldValueBiases(HookedTransformerConfig cfg, LinkedHashMap<String, NDArray> sd) {
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".";
            NDArray wO = sd.get(p + "attn.W_O");
            NDArray bV = bias(sd, p + "attn.b_V", new Shape(cfg.nHeads(), cfg.dHead()), wO.getManager());
            NDArray bO = bias(sd, p + "attn.b_O", new Shape(cfg.dModel()), wO.getManager());
            // b_O + sum_{h,e} b_V[h,e] W_O[h,e,:]
            NDArray folded = bO.add(wO.mul(bV.expandDims(-1)).sum(new int[] {0, 1}));
            replace(sd, p + "attn.b_O", folded);
            replace(sd, p + "attn.b_V", bV.zerosLike());
        }
    }

    /**
     * TransformerLens's {@code refactor_factored_attn_matrices}: per layer, rebalances W_Q/W_K (with their
     * biases as an extra input row) through the SVD of the QK circuit so both carry sqrt(S), folds b_V
     * into b_O, and rewrites the OV circuit as {@code W_V = U diag(S)}, {@code W_O = V^T}. The bilinear QK
     * form and the OV map are unchanged.
     */
    private static void refactorFactoredAttnMatrices(HookedTransformerConfig cfg, LinkedHashMap<String, NDArray> sd) {
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".attn.";
            NDArray wQ = sd.get(p + "W_Q");
            NDManager manager = wQ.getManager();
            long d = cfg.dModel();
            // [H, d_model + 1, d_head]: the bias is the weight of a constant-1 input.
            NDArray qEff = wQ.concat(bias(sd, p + "b_Q", new Shape(cfg.nHeads(), cfg.dHead()), manager).expandDims(1), 1);
            NDArray kEff = sd.get(p + "W_K").concat(
                    bias(sd, p + "b_K", new Shape(cfg.nHeads(), cfg.dHead()), manager).expandDims(1), 1);
            try (FactoredMatrix qk = new FactoredMatrix(qEff, kEff.transpose(0, 2, 1));
                 FactoredMatrix even = qk.makeEven()) {
                NDArray q = even.a();
                NDArray k = even.b().transpose(0, 2, 1);
                replace(sd, p + "W_Q", keep(q.get(new NDIndex(":, :{}, :", d)), manager));
                replace(sd, p + "b_Q", keep(q.get(new NDIndex(":, {}, :", d)), manager));
                replace(sd, p + "W_K", keep(k.get(new NDIndex(":, :{}, :", d)), manager));
                replace(sd, p + "b_K", keep(k.get(new NDIndex(":, {}, :", d)), manager));
            }
            qEff.close();
            kEff.close();
        }
        foldValueBiases(cfg, sd);
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".attn.";
            NDManager manager = sd.get(p + "W_V").getManager();
            try (FactoredMatrix ov = new FactoredMatrix(sd.get(p + "W_V"), sd.get(p + "W_O"))) {
                FactoredMatrix.Svd svd = ov.svd();
                NDArray wV = keep(svd.u().mul(svd.s().expandDims(-2)), manager);
                NDArray wO = keep(svd.v().transpose(0, 2, 1), manager);
                replace(sd, p + "W_V", wV);
                replace(sd, p + "W_O", wO);
            }
        }
    }

    /** A contiguous copy owned by {@code manager}, outliving the factored matrix it came from. */
    private static NDArray keep(NDArray a, NDManager manager) {
        NDArray copy = a.duplicate();
        copy.attach(manager);
        return copy;
    }

    /** A bias from the state dict, or zeros of the given shape when it is missing. */
    private static NDArray bias(Map<String, NDArray> sd, String key, Shape shape, NDManager manager) {
        NDArray b = sd.get(key);
        return b != null ? b : manager.zeros(shape, sd.values().iterator().next().getDataType());
    }

    private static NDArray bias(Map<String, NDArray> sd, String key, long size, NDManager manager) {
        return bias(sd, key, new Shape(size), manager);
    }

    private static void replace(LinkedHashMap<String, NDArray> sd, String key, NDArray value) {
        NDArray old = sd.put(key, value);
        if (old != null && old != value) {
            old.close();
        }
    }

    private static void close(NDArray... arrays) {
        for (NDArray a : arrays) {
            if (a != null) {
                a.close();
            }
        }
    }
}
