package org.lens4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;

/**
 * Hugging Face GPT-2 ({@code GPT2LMHeadModel}) checkpoints in TransformerLens's terms: TransformerLens's
 * {@code convert_hf_model_config} for the config and {@code convert_gpt2_weights} for the weights.
 *
 * <p>GPT-2's {@code Conv1D} weights are stored {@code [in, out]}, the orientation TransformerLens uses, so
 * nothing is transposed; the fused {@code c_attn} is split into Q, K and V along its output axis, each
 * block head-major. The unembedding is tied to {@code wte}: {@code W_U = wte.weight^T} (or
 * {@code lm_head.weight^T} when a checkpoint stores its own).
 */
public final class Gpt2Converter {

    /** The {@code architectures[0]} of a GPT-2 {@code config.json}, and TransformerLens's original_architecture. */
    public static final String ARCHITECTURE = "GPT2LMHeadModel";

    /** Prefix of every key in checkpoints saved from a {@code GPT2LMHeadModel} (absent in the original gpt2 files). */
    private static final String PREFIX = "transformer.";

    private Gpt2Converter() {}

    /**
     * Whether a {@code config.json} is a Hugging Face model config (it names a {@code model_type} or
     * {@code architectures}) rather than a TransformerLens one.
     *
     * @param config a parsed {@code config.json}
     * @return true for a Hugging Face config
     */
    public static boolean isHuggingFaceConfig(JsonObject config) {
        return config.has("model_type") || config.has("architectures");
    }

    /**
     * The TransformerLens config of a Hugging Face GPT-2 {@code config.json}, as {@code convert_hf_model_config}
     * builds it: {@code d_model = n_embd}, {@code d_head = n_embd / n_head}, {@code d_mlp = 4 n_embd},
     * {@code n_ctx}, {@code eps = layer_norm_epsilon}, {@code d_vocab = vocab_size},
     * {@code act_fn = activation_function}, LayerNorm, {@code scale_attn_by_inverse_layer_idx} as given.
     *
     * <p>Unlike TransformerLens, a non-null {@code n_inner} sets {@code d_mlp} (TransformerLens ignores it and
     * then fails on the weight shapes); every GPT-2 release has {@code n_inner = null}. A config without
     * {@code n_ctx} uses {@code n_positions}.
     *
     * @param hf the parsed {@code config.json}
     * @param officialName the model's name or repo id ({@code model_name} is its last path component,
     *     {@code tokenizer_name} the name itself, as in TransformerLens)
     * @return the unprocessed config (LayerNorm with weights)
     * @throws IllegalArgumentException if the config is not a GPT-2 one, lacks a key or asks for something
     *     TransformerLens's GPT-2 does not do; the message names the key
     */
    public static HookedTransformerConfig config(JsonObject hf, String officialName) {
        String architecture = architecture(hf);
        if (!ARCHITECTURE.equals(architecture)) {
            throw new IllegalArgumentException("config.json describes a '" + architecture + "' model; lens4j converts "
                    + "Hugging Face checkpoints of " + ARCHITECTURE + " (GPT-2) only");
        }
        int nEmbd = intKey(hf, "n_embd");
        int nHead = intKey(hf, "n_head");
        if (nHead <= 0 || nEmbd % nHead != 0) {
            throw new IllegalArgumentException("config.json: n_embd (" + nEmbd + ") is not a multiple of n_head ("
                    + nHead + ")");
        }
        if (has(hf, "scale_attn_weights") && !hf.get("scale_attn_weights").getAsBoolean()) {
            throw new IllegalArgumentException("config.json: scale_attn_weights = false is not supported "
                    + "(TransformerLens always divides attention scores by sqrt(d_head))");
        }
        int nCtx = has(hf, "n_ctx") ? intKey(hf, "n_ctx") : intKey(hf, "n_positions");
        int dMlp = has(hf, "n_inner") ? intKey(hf, "n_inner") : 4 * nEmbd;
        return HookedTransformerConfig.builder()
                .dModel(nEmbd)
                .dHead(nEmbd / nHead)
                .nHeads(nHead)
                .dMlp(dMlp)
                .nLayers(intKey(hf, "n_layer"))
                .nCtx(nCtx)
                .eps(has(hf, "layer_norm_epsilon") ? hf.get("layer_norm_epsilon").getAsDouble() : 1e-5)
                .dVocab(intKey(hf, "vocab_size"))
                .actFn(has(hf, "activation_function") ? hf.get("activation_function").getAsString() : "gelu_new")
                .useAttnScale(true)
                .scaleAttnByInverseLayerIdx(has(hf, "scale_attn_by_inverse_layer_idx")
                        && hf.get("scale_attn_by_inverse_layer_idx").getAsBoolean())
                .normalizationType(NormalizationType.LN)
                .originalArchitecture(ARCHITECTURE)
                .modelName(lastPathComponent(officialName))
                .tokenizerName(officialName)
                .initWeights(false)
                .build();
    }

    /**
     * Converts a {@code GPT2LMHeadModel} state dict to TransformerLens names and shapes. Keys may carry the
     * {@code transformer.} prefix or not (the original gpt2 {@code model.safetensors} has none); the
     * attention-mask buffers {@code h.N.attn.bias} / {@code h.N.attn.masked_bias} are ignored.
     *
     * <p>The input is consumed: every input array either appears in the result or is closed. New arrays are
     * created in the manager of the array they come from. {@code unembed.b_U} is not produced (GPT-2 has no
     * output bias; loading fills zeros, as TransformerLens does).
     *
     * @param hf the Hugging Face state dict
     * @param cfg the config from {@link #config}
     * @return TransformerLens state dict: {@code embed.W_E [d_vocab, d_model]}, {@code pos_embed.W_pos
     *     [n_ctx, d_model]}, {@code blocks.L.attn.W_Q/W_K/W_V [n_heads, d_model, d_head]}, {@code W_O
     *     [n_heads, d_head, d_model]}, {@code b_Q/b_K/b_V [n_heads, d_head]}, {@code mlp.W_in [d_model, d_mlp]},
     *     {@code mlp.W_out [d_mlp, d_model]}, LayerNorm weights and {@code unembed.W_U [d_model, d_vocab]}
     * @throws IllegalArgumentException if a key is missing, unexpected or has the wrong shape (named)
     */
    public static LinkedHashMap<String, NDArray> convert(Map<String, NDArray> hf, HookedTransformerConfig cfg) {
        Map<String, NDArray> in = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : hf.entrySet()) {
            String key = e.getKey().startsWith(PREFIX) ? e.getKey().substring(PREFIX.length()) : e.getKey();
            if (in.put(key, e.getValue()) != null) {
                throw new IllegalArgumentException("state dict holds both '" + key + "' and '" + PREFIX + key + "'");
            }
        }
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        try {
            convertInto(in, cfg, out);
        } catch (RuntimeException e) {
            out.values().forEach(NDArray::close);
            throw e;
        } finally {
            in.values().forEach(NDArray::close); // what was not taken: buffers, or everything after a failure
        }
        return out;
    }

    private static void convertInto(Map<String, NDArray> in, HookedTransformerConfig cfg,
            LinkedHashMap<String, NDArray> out) {
        long d = cfg.dModel();
        long h = cfg.nHeads();
        long dh = cfg.dHead();
        long m = cfg.dMlp();
        long v = cfg.dVocab();
        NDArray wte = take(in, "wte.weight", new Shape(v, d));
        out.put("embed.W_E", wte);
        NDArray lmHead = in.remove("lm_head.weight");
        if (lmHead != null) {
            checkShape("lm_head.weight", lmHead, new Shape(v, d));
        }
        // Scopes free the views made on the way; only the arrays put into the result are kept.
        try (NDScope scope = new NDScope()) {
            // Tied: W_U gets its own storage, so editing W_E never changes W_U (as in TransformerLens).
            out.put("unembed.W_U", keep((lmHead != null ? lmHead : wte).transpose().duplicate()));
        }
        if (lmHead != null) {
            lmHead.close();
        }
        NDArray wpe = in.remove("wpe.weight");
        if (wpe == null) {
            throw missing("wpe.weight");
        }
        if (wpe.getShape().dimension() != 2 || wpe.getShape().get(0) < cfg.nCtx() || wpe.getShape().get(1) != d) {
            wpe.close();
            throw new IllegalArgumentException("state dict key 'wpe.weight' has shape " + wpe.getShape()
                    + " but n_ctx = " + cfg.nCtx() + " and n_embd = " + d + " need (>= " + cfg.nCtx() + ", " + d + ")");
        }
        if (wpe.getShape().get(0) == cfg.nCtx()) {
            out.put("pos_embed.W_pos", wpe);
        } else {
            try (NDScope scope = new NDScope()) {
                out.put("pos_embed.W_pos", keep(wpe.get(new NDIndex("0:{}", cfg.nCtx())).duplicate()));
            }
            wpe.close();
        }
        String[] qkv = {"Q", "K", "V"};
        for (int l = 0; l < cfg.nLayers(); l++) {
            String hp = "h." + l + ".";
            String tp = "blocks." + l + ".";
            out.put(tp + "ln1.w", take(in, hp + "ln_1.weight", new Shape(d)));
            out.put(tp + "ln1.b", take(in, hp + "ln_1.bias", new Shape(d)));
            NDArray cAttn = take(in, hp + "attn.c_attn.weight", new Shape(d, 3 * d));
            NDArray cAttnBias = take(in, hp + "attn.c_attn.bias", new Shape(3 * d));
            NDArray cProj = take(in, hp + "attn.c_proj.weight", new Shape(d, d));
            try (NDScope scope = new NDScope()) {
                // c_attn [d_model, 3 d_model]: columns q | k | v, each "(head d_head)", i.e. "m (i h) -> i m h".
                NDArray biases = cAttnBias.reshape(3, h, dh);
                for (int i = 0; i < 3; i++) {
                    NDArray w = cAttn.get(new NDIndex(":, {}:{}", i * d, (i + 1) * d));
                    out.put(tp + "attn.W_" + qkv[i], keep(w.reshape(d, h, dh).transpose(1, 0, 2).duplicate()));
                    out.put(tp + "attn.b_" + qkv[i], keep(biases.get(i).duplicate()));
                }
                // c_proj [d_model, d_model] with rows "(head d_head)": "(i h) m -> i h m".
                out.put(tp + "attn.W_O", keep(cProj.reshape(h, dh, d).duplicate()));
            }
            cAttn.close();
            cAttnBias.close();
            cProj.close();
            out.put(tp + "attn.b_O", take(in, hp + "attn.c_proj.bias", new Shape(d)));
            out.put(tp + "ln2.w", take(in, hp + "ln_2.weight", new Shape(d)));
            out.put(tp + "ln2.b", take(in, hp + "ln_2.bias", new Shape(d)));
            out.put(tp + "mlp.W_in", take(in, hp + "mlp.c_fc.weight", new Shape(d, m)));
            out.put(tp + "mlp.b_in", take(in, hp + "mlp.c_fc.bias", new Shape(m)));
            out.put(tp + "mlp.W_out", take(in, hp + "mlp.c_proj.weight", new Shape(m, d)));
            out.put(tp + "mlp.b_out", take(in, hp + "mlp.c_proj.bias", new Shape(d)));
        }
        out.put("ln_final.w", take(in, "ln_f.weight", new Shape(d)));
        out.put("ln_final.b", take(in, "ln_f.bias", new Shape(d)));
        List<String> unexpected = new ArrayList<>();
        for (String key : in.keySet()) {
            if (!key.matches("h\\.\\d+\\.attn\\.(bias|masked_bias)")) {
                unexpected.add(key);
            }
        }
        if (!unexpected.isEmpty()) {
            throw new IllegalArgumentException("state dict has keys that are not part of a " + ARCHITECTURE + " with "
                    + cfg.nLayers() + " layers: " + unexpected);
        }
    }

    private static NDArray keep(NDArray a) {
        NDScope.unregister(a);
        return a;
    }

    /** Removes a tensor from the input, checking its shape. */
    private static NDArray take(Map<String, NDArray> in, String key, Shape shape) {
        NDArray a = in.remove(key);
        if (a == null) {
            throw missing(key);
        }
        checkShape(key, a, shape);
        return a;
    }

    private static void checkShape(String key, NDArray a, Shape shape) {
        if (!a.getShape().equals(shape)) {
            a.close();
            throw new IllegalArgumentException("state dict key '" + key + "' has shape " + a.getShape()
                    + " but the config needs " + shape);
        }
    }

    private static IllegalArgumentException missing(String key) {
        return new IllegalArgumentException("state dict has no '" + key + "' (nor '" + PREFIX + key
                + "'): not a complete " + ARCHITECTURE + " checkpoint");
    }

    private static String architecture(JsonObject hf) {
        if (has(hf, "architectures") && hf.get("architectures").isJsonArray()
                && !hf.getAsJsonArray("architectures").isEmpty()) {
            return hf.getAsJsonArray("architectures").get(0).getAsString();
        }
        if (has(hf, "model_type") && "gpt2".equals(hf.get("model_type").getAsString())) {
            return ARCHITECTURE;
        }
        return has(hf, "model_type") ? "model_type " + hf.get("model_type").getAsString() : "unknown";
    }

    private static boolean has(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull();
    }

    private static int intKey(JsonObject o, String key) {
        JsonElement v = o.get(key);
        if (v == null || v.isJsonNull()) {
            throw new IllegalArgumentException("config.json has no '" + key + "'");
        }
        try {
            return v.getAsInt();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("config.json key '" + key + "' is not an integer: " + v, e);
        }
    }

    /** TransformerLens's model_name: the part after the last '/'. */
    static String lastPathComponent(String name) {
        String trimmed = name.replaceAll("[/\\\\]+$", "");
        int slash = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
        return trimmed.substring(slash + 1);
    }
}
