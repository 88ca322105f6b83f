package org.lens4j.core;

import ai.djl.ndarray.types.DataType;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The configuration of a {@link HookedTransformer}, with TransformerLens's field names, defaults and
 * derived values ({@code HookedTransformerConfig} in TransformerLens 2.x).
 *
 * <p>Instances are immutable; use {@link #builder()} or {@link #toBuilder()} to make one. {@link
 * #fromJson(String)} reads TransformerLens's own {@code cfg.to_dict()} JSON (as stored next to
 * TransformerLens-native checkpoints) unchanged, and {@link #toJson()} writes it back with the same
 * keys. Derived values are filled exactly as TransformerLens's {@code __post_init__} does: {@code
 * n_heads = d_model / d_head} when -1, {@code d_mlp = 4 d_model} when missing (and not attention-only),
 * {@code d_vocab_out = d_vocab} when -1, {@code attn_scale = sqrt(d_head)} when -1, {@code
 * initializer_range = 0.8 / sqrt(d_model)} when -1, and {@code n_params}.
 *
 * <p>Fields of TransformerLens's config that lens4j does not implement (rotary embeddings, gated MLPs,
 * grouped-query attention, local attention, mixture of experts, soft caps...) are accepted only at
 * their "off" values; anything else is rejected with an exception naming the key.
 */
public final class HookedTransformerConfig {

    /** Values of TransformerLens's {@code normalization_type}. */
    public enum NormalizationType {
        /** LayerNorm with weight and bias. */
        LN("LN"),
        /** LayerNorm without parameters (after folding). */
        LN_PRE("LNPre"),
        /** RMSNorm with weight. */
        RMS("RMS"),
        /** RMSNorm without parameters. */
        RMS_PRE("RMSPre"),
        /** No normalisation ({@code None}). */
        NONE(null);

        private final String tlName;

        NormalizationType(String tlName) {
            this.tlName = tlName;
        }

        /** The TransformerLens spelling, {@code null} for {@link #NONE}. */
        public String tlName() {
            return tlName;
        }

        /** Parses the TransformerLens spelling ({@code null} means {@link #NONE}). */
        public static NormalizationType parse(String name) {
            if (name == null) {
                return NONE;
            }
            for (NormalizationType t : values()) {
                if (name.equals(t.tlName)) {
                    return t;
                }
            }
            throw new IllegalArgumentException(
                    "normalization_type '" + name + "' is not one of LN, LNPre, RMS, RMSPre, null");
        }

        /** True for LN and LNPre (the centring norms). */
        public boolean isLayerNorm() {
            return this == LN || this == LN_PRE;
        }

        /** True for RMS and RMSPre. */
        public boolean isRmsNorm() {
            return this == RMS || this == RMS_PRE;
        }
    }

    /** Values of TransformerLens's {@code positional_embedding_type} that lens4j implements. */
    public enum PositionalEmbeddingType {
        /** Learned absolute positions added to the residual stream. */
        STANDARD("standard"),
        /** Learned positions added only to the query and key inputs of every layer. */
        SHORTFORMER("shortformer");

        private final String tlName;

        PositionalEmbeddingType(String tlName) {
            this.tlName = tlName;
        }

        /** The TransformerLens spelling. */
        public String tlName() {
            return tlName;
        }

        static PositionalEmbeddingType parse(String name) {
            for (PositionalEmbeddingType t : values()) {
                if (t.tlName.equals(name)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("positional_embedding_type '" + name
                    + "' is not supported by lens4j (supported: standard, shortformer)");
        }
    }

    /** MLP activation functions ({@code act_fn}). */
    public static final Set<String> ACTIVATION_FUNCTIONS =
            Set.of("relu", "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "silu", "solu", "solu_ln");

    /**
     * TransformerLens config keys that lens4j does not model, with the value it requires them to have.
     * Anything else means a feature lens4j does not implement, so loading such a config fails loudly.
     */
    private static final Map<String, JsonElement> REQUIRED_OFF;

    /** TransformerLens keys accepted and kept as they are (bookkeeping that does not change the maths). */
    private static final Set<String> PASSTHROUGH = Set.of(
            "NTK_by_parts_factor", "NTK_by_parts_high_freq_factor", "NTK_by_parts_low_freq_factor",
            "rotary_base", "rotary_dim", "rotary_adjacent_pairs", "checkpoint_index", "checkpoint_label_type",
            "checkpoint_value", "from_checkpoint", "n_devices", "load_in_4bit", "trust_remote_code",
            "decoder_start_token_id", "relative_attention_max_distance", "relative_attention_num_buckets",
            "experts_per_token", "attn_types", "window_size", "tie_word_embeddings", "n_params");

    static {
        Map<String, JsonElement> off = new LinkedHashMap<>();
        off.put("gated_mlp", new JsonPrimitive(false));
        off.put("parallel_attn_mlp", new JsonPrimitive(false));
        off.put("use_local_attn", new JsonPrimitive(false));
        off.put("post_embedding_ln", new JsonPrimitive(false));
        off.put("use_NTK_by_parts_rope", new JsonPrimitive(false));
        off.put("ungroup_grouped_query_attention", new JsonPrimitive(false));
        off.put("use_normalization_before_and_after", new JsonPrimitive(false));
        off.put("n_key_value_heads", JsonNull.INSTANCE);
        off.put("num_experts", JsonNull.INSTANCE);
        off.put("output_logits_soft_cap", new JsonPrimitive(-1.0));
        off.put("attn_scores_soft_cap", new JsonPrimitive(-1.0));
        REQUIRED_OFF = off;
    }

    private final int nLayers;
    private final int dModel;
    private final int nCtx;
    private final int dHead;
    private final int nHeads;
    private final int dMlp;
    private final int dVocab;
    private final int dVocabOut;
    private final String actFn;
    private final double eps;
    private final NormalizationType normalizationType;
    private final boolean finalRms;
    private final PositionalEmbeddingType positionalEmbeddingType;
    private final boolean attnOnly;
    private final boolean useAttnScale;
    private final double attnScale;
    private final boolean scaleAttnByInverseLayerIdx;
    private final boolean useAttnResult;
    private final boolean useSplitQkvInput;
    private final boolean useAttnIn;
    private final boolean useHookMlpIn;
    private final boolean useHookTokens;
    private final boolean causal;
    private final boolean defaultPrependBos;
    private final Boolean tokenizerPrependsBos;
    private final String originalArchitecture;
    private final String modelName;
    private final String tokenizerName;
    private final DataType dtype;
    private final String device;
    private final Long seed;
    private final boolean initWeights;
    private final String initMode;
    private final double initializerRange;
    private final Map<String, JsonElement> passthrough;

    private HookedTransformerConfig(Builder b) {
        require(b.nLayers != null && b.nLayers >= 0, "n_layers", "must be given and >= 0");
        require(b.dModel != null && b.dModel > 0, "d_model", "must be given and > 0");
        require(b.nCtx != null && b.nCtx > 0, "n_ctx", "must be given and > 0");
        require(b.dHead != null && b.dHead > 0, "d_head", "must be given and > 0");
        this.nLayers = b.nLayers;
        this.dModel = b.dModel;
        this.nCtx = b.nCtx;
        this.dHead = b.dHead;
        if (b.nHeads == -1) {
            require(b.dModel % b.dHead == 0, "n_heads",
                    "is -1 but d_model (" + b.dModel + ") is not a multiple of d_head (" + b.dHead + ")");
            this.nHeads = b.dModel / b.dHead;
        } else {
            require(b.nHeads > 0, "n_heads", "must be > 0 or -1");
            this.nHeads = b.nHeads;
        }
        this.attnOnly = b.attnOnly;
        if (!b.attnOnly) {
            require(b.actFn != null, "act_fn", "must be set for a model with MLPs (attn_only is false)");
        }
        if (b.actFn != null) {
            require(ACTIVATION_FUNCTIONS.contains(b.actFn), "act_fn",
                    "'" + b.actFn + "' is not one of " + new TreeSet<>(ACTIVATION_FUNCTIONS));
        }
        this.actFn = b.actFn;
        if (b.dMlp == null) {
            this.dMlp = b.attnOnly ? 0 : 4 * b.dModel;
        } else {
            require(b.dMlp > 0, "d_mlp", "must be > 0");
            this.dMlp = b.dMlp;
        }
        require(b.dVocab > 0, "d_vocab", "must be > 0 (lens4j does not infer it from a tokenizer)");
        this.dVocab = b.dVocab;
        require(b.dVocabOut == -1 || b.dVocabOut > 0, "d_vocab_out", "must be > 0 or -1");
        this.dVocabOut = b.dVocabOut == -1 ? b.dVocab : b.dVocabOut;
        require(b.eps > 0, "eps", "must be > 0");
        this.eps = b.eps;
        this.normalizationType = b.normalizationType;
        this.finalRms = b.finalRms;
        this.positionalEmbeddingType = b.positionalEmbeddingType;
        this.useAttnScale = b.useAttnScale;
        if (b.useAttnScale && b.attnScale == -1.0) {
            this.attnScale = Math.sqrt(b.dHead);
        } else {
            require(b.attnScale > 0 || !b.useAttnScale, "attn_scale", "must be > 0 or -1");
            this.attnScale = b.attnScale;
        }
        this.scaleAttnByInverseLayerIdx = b.scaleAttnByInverseLayerIdx;
        this.useAttnResult = b.useAttnResult;
        this.useSplitQkvInput = b.useSplitQkvInput;
        this.useAttnIn = b.useAttnIn;
        require(!(b.useAttnIn && b.useSplitQkvInput), "use_attn_in",
                "and use_split_qkv_input cannot both be true");
        require(!(b.useHookMlpIn && b.attnOnly), "use_hook_mlp_in", "cannot be true for an attention-only model");
        this.useHookMlpIn = b.useHookMlpIn;
        this.useHookTokens = b.useHookTokens;
        this.causal = b.causal;
        this.defaultPrependBos = b.defaultPrependBos;
        this.tokenizerPrependsBos = b.tokenizerPrependsBos;
        this.originalArchitecture = b.originalArchitecture;
        this.modelName = b.modelName;
        this.tokenizerName = b.tokenizerName;
        require(b.dtype == DataType.FLOAT32 || b.dtype == DataType.FLOAT64, "dtype",
                "must be float32 or float64, not " + b.dtype);
        this.dtype = b.dtype;
        this.device = b.device;
        this.seed = b.seed;
        this.initWeights = b.initWeights;
        this.initMode = b.initMode;
        this.initializerRange = b.initializerRange == -1.0 && "gpt2".equals(b.initMode)
                ? 0.8 / Math.sqrt(b.dModel)
                : (b.initializerRange == -1.0 ? 1.0 : b.initializerRange);
        this.passthrough = Map.copyOf(b.passthrough);
    }

    private static void require(boolean ok, String key, String message) {
        if (!ok) {
            throw new IllegalArgumentException("config key '" + key + "' " + message);
        }
    }

    /** A new builder with TransformerLens's defaults; n_layers, d_model, n_ctx, d_head, d_vocab are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values (derived values included). */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.nLayers = nLayers;
        b.dModel = dModel;
        b.nCtx = nCtx;
        b.dHead = dHead;
        b.nHeads = nHeads;
        b.dMlp = attnOnly && dMlp == 0 ? null : dMlp;
        b.dVocab = dVocab;
        b.dVocabOut = dVocabOut;
        b.actFn = actFn;
        b.eps = eps;
        b.normalizationType = normalizationType;
        b.finalRms = finalRms;
        b.positionalEmbeddingType = positionalEmbeddingType;
        b.attnOnly = attnOnly;
        b.useAttnScale = useAttnScale;
        b.attnScale = attnScale;
        b.scaleAttnByInverseLayerIdx = scaleAttnByInverseLayerIdx;
        b.useAttnResult = useAttnResult;
        b.useSplitQkvInput = useSplitQkvInput;
        b.useAttnIn = useAttnIn;
        b.useHookMlpIn = useHookMlpIn;
        b.useHookTokens = useHookTokens;
        b.causal = causal;
        b.defaultPrependBos = defaultPrependBos;
        b.tokenizerPrependsBos = tokenizerPrependsBos;
        b.originalArchitecture = originalArchitecture;
        b.modelName = modelName;
        b.tokenizerName = tokenizerName;
        b.dtype = dtype;
        b.device = device;
        b.seed = seed;
        b.initWeights = initWeights;
        b.initMode = initMode;
        b.initializerRange = initializerRange;
        b.passthrough.putAll(passthrough);
        return b;
    }

    // ---------------------------------------------------------------- JSON

    /** Reads a TransformerLens {@code config.json} file. */
    public static HookedTransformerConfig fromJsonFile(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try {
            return fromJson(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses TransformerLens's {@code cfg.to_dict()} JSON. Every key must be a TransformerLens config key;
     * keys for features lens4j does not implement must hold their "off" value.
     */
    public static HookedTransformerConfig fromJson(String json) {
        JsonElement root;
        try {
            root = JsonParser.parseString(json);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("config JSON is not valid JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonObject()) {
            throw new IllegalArgumentException("config JSON must be an object");
        }
        JsonObject o = root.getAsJsonObject();
        Builder b = builder();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            String key = e.getKey();
            JsonElement v = e.getValue();
            try {
                b.set(key, v);
            } catch (IllegalStateException | UnsupportedOperationException | NumberFormatException
                     | ClassCastException e2) {
                throw new IllegalArgumentException("config key '" + key + "' has an invalid value " + v, e2);
            }
        }
        return b.build();
    }

    /** Writes this config as JSON with TransformerLens's keys (sorted, as {@code json.dumps(sort_keys=True)}). */
    public String toJson() {
        Map<String, Object> m = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : REQUIRED_OFF.entrySet()) {
            m.put(e.getKey(), e.getValue());
        }
        m.putAll(passthrough);
        m.put("n_layers", nLayers);
        m.put("d_model", dModel);
        m.put("n_ctx", nCtx);
        m.put("d_head", dHead);
        m.put("n_heads", nHeads);
        m.put("d_mlp", attnOnly && dMlp == 0 ? null : dMlp);
        m.put("d_vocab", dVocab);
        m.put("d_vocab_out", dVocabOut);
        m.put("act_fn", actFn);
        m.put("eps", eps);
        m.put("normalization_type", normalizationType.tlName());
        m.put("final_rms", finalRms);
        m.put("positional_embedding_type", positionalEmbeddingType.tlName());
        m.put("attn_only", attnOnly);
        m.put("use_attn_scale", useAttnScale);
        m.put("attn_scale", attnScale);
        m.put("scale_attn_by_inverse_layer_idx", scaleAttnByInverseLayerIdx);
        m.put("use_attn_result", useAttnResult);
        m.put("use_split_qkv_input", useSplitQkvInput);
        m.put("use_attn_in", useAttnIn);
        m.put("use_hook_mlp_in", useHookMlpIn);
        m.put("use_hook_tokens", useHookTokens);
        m.put("attention_dir", causal ? "causal" : "bidirectional");
        m.put("default_prepend_bos", defaultPrependBos);
        m.put("tokenizer_prepends_bos", tokenizerPrependsBos);
        m.put("original_architecture", originalArchitecture);
        m.put("model_name", modelName);
        m.put("tokenizer_name", tokenizerName);
        m.put("dtype", dtype == DataType.FLOAT64 ? "float64" : "float32");
        m.put("device", device);
        m.put("seed", seed);
        m.put("init_weights", initWeights);
        m.put("init_mode", initMode);
        m.put("initializer_range", initializerRange);
        m.put("n_params", nParams());
        Gson gson = new GsonBuilder().serializeNulls().setPrettyPrinting().serializeSpecialFloatingPointValues()
                .create();
        return gson.toJson(m);
    }

    // ---------------------------------------------------------------- accessors

    /** Number of transformer blocks ({@code n_layers}). */
    public int nLayers() {
        return nLayers;
    }

    /** Residual stream width ({@code d_model}). */
    public int dModel() {
        return dModel;
    }

    /** Maximum sequence length ({@code n_ctx}). */
    public int nCtx() {
        return nCtx;
    }

    /** Width of one attention head ({@code d_head}). */
    public int dHead() {
        return dHead;
    }

    /** Number of attention heads ({@code n_heads}). */
    public int nHeads() {
        return nHeads;
    }

    /** MLP width ({@code d_mlp}); 0 for attention-only models without one. */
    public int dMlp() {
        return dMlp;
    }

    /** Input vocabulary size ({@code d_vocab}). */
    public int dVocab() {
        return dVocab;
    }

    /** Output vocabulary size ({@code d_vocab_out}, the width of W_U). */
    public int dVocabOut() {
        return dVocabOut;
    }

    /** MLP activation function name ({@code act_fn}), may be null for attention-only models. */
    public String actFn() {
        return actFn;
    }

    /** Normalisation epsilon ({@code eps}). */
    public double eps() {
        return eps;
    }

    /** Normalisation type ({@code normalization_type}). */
    public NormalizationType normalizationType() {
        return normalizationType;
    }

    /** Whether {@code ln_final} is an RMS norm ({@code final_rms}). */
    public boolean finalRms() {
        return finalRms;
    }

    /** Positional embedding type. */
    public PositionalEmbeddingType positionalEmbeddingType() {
        return positionalEmbeddingType;
    }

    /** Whether blocks have no MLP ({@code attn_only}). */
    public boolean attnOnly() {
        return attnOnly;
    }

    /** Whether attention scores are divided by {@link #attnScale()}. */
    public boolean useAttnScale() {
        return useAttnScale;
    }

    /** The attention score divisor ({@code attn_scale}, default sqrt(d_head)). */
    public double attnScale() {
        return attnScale;
    }

    /** Whether layer l additionally divides scores by (l + 1). */
    public boolean scaleAttnByInverseLayerIdx() {
        return scaleAttnByInverseLayerIdx;
    }

    /** Whether per-head outputs ({@code attn.hook_result}) are computed. */
    public boolean useAttnResult() {
        return useAttnResult;
    }

    /** Whether per-head Q/K/V inputs ({@code hook_q_input} ...) are computed. */
    public boolean useSplitQkvInput() {
        return useSplitQkvInput;
    }

    /** Whether a per-head attention input ({@code hook_attn_in}) is computed. */
    public boolean useAttnIn() {
        return useAttnIn;
    }

    /** Whether {@code hook_mlp_in} fires. */
    public boolean useHookMlpIn() {
        return useHookMlpIn;
    }

    /** Whether {@code hook_tokens} fires. */
    public boolean useHookTokens() {
        return useHookTokens;
    }

    /** True for causal attention ({@code attention_dir = "causal"}), false for bidirectional. */
    public boolean causal() {
        return causal;
    }

    /** Whether string inputs get a BOS token by default. */
    public boolean defaultPrependBos() {
        return defaultPrependBos;
    }

    /** TransformerLens's {@code original_architecture}, e.g. GPT2LMHeadModel or neel. */
    public String originalArchitecture() {
        return originalArchitecture;
    }

    /** TransformerLens's {@code model_name}. */
    public String modelName() {
        return modelName;
    }

    /** Hugging Face tokenizer id ({@code tokenizer_name}), may be null. */
    public String tokenizerName() {
        return tokenizerName;
    }

    /** Parameter dtype: FLOAT32 or FLOAT64. */
    public DataType dtype() {
        return dtype;
    }

    /** Random seed, may be null. */
    public Long seed() {
        return seed;
    }

    /** Weight initialisation mode ({@code init_mode}). */
    public String initMode() {
        return initMode;
    }

    /** Standard deviation of gpt2-mode initialisation. */
    public double initializerRange() {
        return initializerRange;
    }

    /** The effective attention divisor for a layer (attn_scale, times layer+1 if so configured; 1 if unscaled). */
    public double attnScaleForLayer(int layer) {
        double s = useAttnScale ? attnScale : 1.0;
        return scaleAttnByInverseLayerIdx ? s * (layer + 1) : s;
    }

    /** Whether the MLP activation is followed by its own LayerNorm ({@code solu_ln}). */
    public boolean isLayerNormActivation() {
        return actFn != null && actFn.endsWith("_ln");
    }

    /**
     * TransformerLens's {@code n_params}: attention weights plus MLP weights; embeddings, biases and norms
     * excluded.
     */
    public long nParams() {
        long n = (long) nLayers * 4 * dModel * dHead * nHeads;
        if (!attnOnly) {
            n += (long) nLayers * dModel * dMlp * 2;
        }
        return n;
    }

    @Override
    public String toString() {
        return "HookedTransformerConfig" + toJson().replaceAll("\\s+", " ");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HookedTransformerConfig other && toJson().equals(other.toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    /** Mutable builder for {@link HookedTransformerConfig}, with TransformerLens's defaults. */
    public static final class Builder {
        private Integer nLayers;
        private Integer dModel;
        private Integer nCtx;
        private Integer dHead;
        private int nHeads = -1;
        private Integer dMlp;
        private int dVocab = -1;
        private int dVocabOut = -1;
        private String actFn;
        private double eps = 1e-5;
        private NormalizationType normalizationType = NormalizationType.LN;
        private boolean finalRms;
        private PositionalEmbeddingType positionalEmbeddingType = PositionalEmbeddingType.STANDARD;
        private boolean attnOnly;
        private boolean useAttnScale = true;
        private double attnScale = -1.0;
        private boolean scaleAttnByInverseLayerIdx;
        private boolean useAttnResult;
        private boolean useSplitQkvInput;
        private boolean useAttnIn;
        private boolean useHookMlpIn;
        private boolean useHookTokens;
        private boolean causal = true;
        private boolean defaultPrependBos = true;
        private Boolean tokenizerPrependsBos;
        private String originalArchitecture;
        private String modelName = "custom";
        private String tokenizerName;
        private DataType dtype = DataType.FLOAT32;
        private String device = "cpu";
        private Long seed;
        private boolean initWeights = true;
        private String initMode = "gpt2";
        private double initializerRange = -1.0;
        private final Map<String, JsonElement> passthrough = new TreeMap<>();

        private Builder() {}

        /** Sets {@code n_layers}. */
        public Builder nLayers(int v) {
            nLayers = v;
            return this;
        }

        /** Sets {@code d_model}. */
        public Builder dModel(int v) {
            dModel = v;
            return this;
        }

        /** Sets {@code n_ctx}. */
        public Builder nCtx(int v) {
            nCtx = v;
            return this;
        }

        /** Sets {@code d_head}. */
        public Builder dHead(int v) {
            dHead = v;
            return this;
        }

        /** Sets {@code n_heads} (-1 = d_model / d_head). */
        public Builder nHeads(int v) {
            nHeads = v;
            return this;
        }

        /** Sets {@code d_mlp} (null = 4 d_model). */
        public Builder dMlp(Integer v) {
            dMlp = v;
            return this;
        }

        /** Sets {@code d_vocab}. */
        public Builder dVocab(int v) {
            dVocab = v;
            return this;
        }

        /** Sets {@code d_vocab_out} (-1 = d_vocab). */
        public Builder dVocabOut(int v) {
            dVocabOut = v;
            return this;
        }

        /** Sets {@code act_fn}. */
        public Builder actFn(String v) {
            actFn = v;
            return this;
        }

        /** Sets {@code eps}. */
        public Builder eps(double v) {
            eps = v;
            return this;
        }

        /** Sets {@code normalization_type}. */
        public Builder normalizationType(NormalizationType v) {
            normalizationType = v;
            return this;
        }

        /** Sets {@code final_rms}. */
        public Builder finalRms(boolean v) {
            finalRms = v;
            return this;
        }

        /** Sets {@code positional_embedding_type}. */
        public Builder positionalEmbeddingType(PositionalEmbeddingType v) {
            positionalEmbeddingType = v;
            return this;
        }

        /** Sets {@code attn_only}. */
        public Builder attnOnly(boolean v) {
            attnOnly = v;
            return this;
        }

        /** Sets {@code use_attn_scale}. */
        public Builder useAttnScale(boolean v) {
            useAttnScale = v;
            return this;
        }

        /** Sets {@code attn_scale} (-1 = sqrt(d_head)). */
        public Builder attnScale(double v) {
            attnScale = v;
            return this;
        }

        /** Sets {@code scale_attn_by_inverse_layer_idx}. */
        public Builder scaleAttnByInverseLayerIdx(boolean v) {
            scaleAttnByInverseLayerIdx = v;
            return this;
        }

        /** Sets {@code use_attn_result}. */
        public Builder useAttnResult(boolean v) {
            useAttnResult = v;
            return this;
        }

        /** Sets {@code use_split_qkv_input}. */
        public Builder useSplitQkvInput(boolean v) {
            useSplitQkvInput = v;
            return this;
        }

        /** Sets {@code use_attn_in}. */
        public Builder useAttnIn(boolean v) {
            useAttnIn = v;
            return this;
        }

        /** Sets {@code use_hook_mlp_in}. */
        public Builder useHookMlpIn(boolean v) {
            useHookMlpIn = v;
            return this;
        }

        /** Sets {@code use_hook_tokens}. */
        public Builder useHookTokens(boolean v) {
            useHookTokens = v;
            return this;
        }

        /** Sets {@code attention_dir}: true for "causal", false for "bidirectional". */
        public Builder causal(boolean v) {
            causal = v;
            return this;
        }

        /** Sets {@code default_prepend_bos}. */
        public Builder defaultPrependBos(boolean v) {
            defaultPrependBos = v;
            return this;
        }

        /** Sets {@code original_architecture}. */
        public Builder originalArchitecture(String v) {
            originalArchitecture = v;
            return this;
        }

        /** Sets {@code model_name}. */
        public Builder modelName(String v) {
            modelName = v;
            return this;
        }

        /** Sets {@code tokenizer_name}. */
        public Builder tokenizerName(String v) {
            tokenizerName = v;
            return this;
        }

        /** Sets {@code dtype} (FLOAT32 or FLOAT64). */
        public Builder dtype(DataType v) {
            dtype = v;
            return this;
        }

        /** Sets {@code seed}. */
        public Builder seed(Long v) {
            seed = v;
            return this;
        }

        /** Sets {@code init_weights}. */
        public Builder initWeights(boolean v) {
            initWeights = v;
            return this;
        }

        /** Sets {@code init_mode}. */
        public Builder initMode(String v) {
            initMode = v;
            return this;
        }

        /** Sets {@code initializer_range} (-1 = 0.8 / sqrt(d_model) in gpt2 mode). */
        public Builder initializerRange(double v) {
            initializerRange = v;
            return this;
        }

        /** Validates and fills derived values. */
        public HookedTransformerConfig build() {
            return new HookedTransformerConfig(this);
        }

        /** Sets one TransformerLens key from its JSON value. */
        void set(String key, JsonElement v) {
            if (REQUIRED_OFF.containsKey(key)) {
                JsonElement off = REQUIRED_OFF.get(key);
                boolean same = off.isJsonNull() ? v.isJsonNull()
                        : !v.isJsonNull() && (off.getAsJsonPrimitive().isBoolean()
                                ? v.getAsBoolean() == off.getAsBoolean()
                                : v.getAsDouble() == off.getAsDouble());
                if (!same) {
                    throw new IllegalArgumentException("config key '" + key + "' = " + v
                            + " is a feature lens4j does not implement (only " + off + " is supported)");
                }
                return;
            }
            if (PASSTHROUGH.contains(key)) {
                if (!key.equals("n_params")) {
                    passthrough.put(key, v);
                }
                return;
            }
            switch (key) {
                case "n_layers" -> nLayers = v.getAsInt();
                case "d_model" -> dModel = v.getAsInt();
                case "n_ctx" -> nCtx = v.getAsInt();
                case "d_head" -> dHead = v.getAsInt();
                case "n_heads" -> nHeads = v.getAsInt();
                case "d_mlp" -> dMlp = v.isJsonNull() ? null : v.getAsInt();
                case "d_vocab" -> dVocab = v.getAsInt();
                case "d_vocab_out" -> dVocabOut = v.getAsInt();
                case "act_fn" -> actFn = str(v);
                case "eps" -> eps = v.getAsDouble();
                case "normalization_type" -> normalizationType = NormalizationType.parse(str(v));
                case "final_rms" -> finalRms = v.getAsBoolean();
                case "positional_embedding_type" -> positionalEmbeddingType = PositionalEmbeddingType.parse(str(v));
                case "attn_only" -> attnOnly = v.getAsBoolean();
                case "use_attn_scale" -> useAttnScale = v.getAsBoolean();
                case "attn_scale" -> attnScale = v.getAsDouble();
                case "scale_attn_by_inverse_layer_idx" -> scaleAttnByInverseLayerIdx = v.getAsBoolean();
                case "use_attn_result" -> useAttnResult = v.getAsBoolean();
                case "use_split_qkv_input" -> useSplitQkvInput = v.getAsBoolean();
                case "use_attn_in" -> useAttnIn = v.getAsBoolean();
                case "use_hook_mlp_in" -> useHookMlpIn = v.getAsBoolean();
                case "use_hook_tokens" -> useHookTokens = v.getAsBoolean();
                case "attention_dir" -> {
                    String d = str(v);
                    if (!"causal".equals(d) && !"bidirectional".equals(d)) {
                        throw new IllegalArgumentException(
                                "config key 'attention_dir' must be causal or bidirectional, not " + v);
                    }
                    causal = "causal".equals(d);
                }
                case "default_prepend_bos" -> defaultPrependBos = v.getAsBoolean();
                case "tokenizer_prepends_bos" -> tokenizerPrependsBos = v.isJsonNull() ? null : v.getAsBoolean();
                case "original_architecture" -> originalArchitecture = str(v);
                case "model_name" -> modelName = str(v);
                case "tokenizer_name" -> tokenizerName = str(v);
                case "dtype" -> dtype = parseDtype(str(v));
                case "device" -> device = v.isJsonNull() ? "cpu" : str(v);
                case "seed" -> seed = v.isJsonNull() ? null : v.getAsLong();
                case "init_weights" -> initWeights = v.getAsBoolean();
                case "init_mode" -> initMode = str(v);
                case "initializer_range" -> initializerRange = v.getAsDouble();
                default -> throw new IllegalArgumentException("config key '" + key
                        + "' is not a TransformerLens HookedTransformerConfig key");
            }
        }

        private static String str(JsonElement v) {
            return v.isJsonNull() ? null : v.getAsString();
        }

        private static DataType parseDtype(String s) {
            String d = s == null ? "float32" : s.toLowerCase(Locale.ROOT).replace("torch.", "");
            return switch (d) {
                case "float32", "float" -> DataType.FLOAT32;
                case "float64", "double" -> DataType.FLOAT64;
                default -> throw new IllegalArgumentException(
                        "config key 'dtype' = " + s + " is not supported (float32 or float64)");
            };
        }
    }
}
