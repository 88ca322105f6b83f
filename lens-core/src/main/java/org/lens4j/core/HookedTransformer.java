package org.lens4j.core;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.ServiceLoader;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.HookedTransformerConfig.PositionalEmbeddingType;
import org.lens4j.core.components.Attention;
import org.lens4j.core.components.Embed;
import org.lens4j.core.components.LayerNorm;
import org.lens4j.core.components.Mlp;
import org.lens4j.core.components.PosEmbed;
import org.lens4j.core.components.TransformerBlock;
import org.lens4j.core.components.Unembed;
import org.lens4j.core.tokens.PaddingSide;
import org.lens4j.core.tokens.TokenBatch;
import org.lens4j.core.tokens.Tokenizer;

/**
 * A GPT-style transformer whose every activation can be read and replaced through TransformerLens's
 * named hook points ({@code HookedTransformer} in TransformerLens 2.x).
 *
 * <p>Weights belong to the model's own {@link NDManager}; {@link #close()} frees them. Each forward pass
 * runs in a scope that frees its intermediate arrays when it ends; what it returns (logits, loss, a
 * cache) belongs to the manager of the input, or to the returned cache. A model is not thread-safe:
 * hooks are part of its state.
 *
 * <pre>{@code
 * try (HookedTransformer model = HookedTransformer.fromPretrained("gpt2");
 *      NDManager m = NDManager.newBaseManager()) {
 *     NDArray tokens = m.create(new long[][] {{50256, 15496, 995}});
 *     try (CachedRun run = model.runWithCache(tokens)) {
 *         NDArray pattern = run.cache().get("pattern", 0);   // [batch, head, q_pos, k_pos]
 *     }
 * }
 * }</pre>
 */
public final class HookedTransformer implements AutoCloseable {

    private static final Set<String> BUFFER_SUFFIXES = Set.of(".attn.mask", ".attn.IGNORE");

    private HookedTransformerConfig cfg;
    private final NDManager manager;
    private final LinkedHashMap<String, NDArray> params;
    private final LinkedHashMap<String, HookPoint> hookPoints = new LinkedHashMap<>();
    private final Embed embed;
    private final PosEmbed posEmbed;
    private final List<TransformerBlock> blocks = new ArrayList<>();
    private final LayerNorm lnFinal;
    private final Unembed unembed;
    private final HookPoint hookEmbed;
    private final HookPoint hookPosEmbed;
    private final HookPoint hookTokens;
    private int hookLevel;
    private Tokenizer tokenizer;

    private HookedTransformer(HookedTransformerConfig cfg, LinkedHashMap<String, NDArray> params, NDManager manager) {
        this.cfg = cfg;
        this.params = params;
        this.manager = manager;
        hookEmbed = point("hook_embed");
        hookPosEmbed = point("hook_pos_embed");
        hookTokens = point("hook_tokens");
        embed = new Embed(params.get("embed.W_E"));
        posEmbed = new PosEmbed(params.get("pos_embed.W_pos"));
        NormalizationType norm = cfg.normalizationType();
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".";
            LayerNorm ln1 = norm(norm, p + "ln1", cfg.dModel());
            LayerNorm ln2 = cfg.attnOnly() ? null : norm(norm, p + "ln2", cfg.dModel());
            HookPoint[] attnHooks = {
                point(p + "attn.hook_k"), point(p + "attn.hook_q"), point(p + "attn.hook_v"),
                point(p + "attn.hook_z"), point(p + "attn.hook_attn_scores"), point(p + "attn.hook_pattern"),
                point(p + "attn.hook_result")
            };
            Attention attn = new Attention(param(p + "attn.W_Q"), param(p + "attn.W_K"), param(p + "attn.W_V"),
                    param(p + "attn.W_O"), param(p + "attn.b_Q"), param(p + "attn.b_K"), param(p + "attn.b_V"),
                    param(p + "attn.b_O"), cfg.attnScaleForLayer(l),
                    // Attention takes q, k, v, z, scores, pattern, result
                    attnHooks[1], attnHooks[0], attnHooks[2], attnHooks[4], attnHooks[5], attnHooks[3], attnHooks[6]);
            Mlp mlp = null;
            if (!cfg.attnOnly()) {
                LayerNorm mlpLn = null;
                HookPoint hookMid = null;
                if (cfg.isLayerNormActivation()) {
                    hookMid = point(p + "mlp.hook_mid");
                    mlpLn = norm == NormalizationType.LN
                            ? new LayerNorm(NormalizationType.LN, cfg.eps(), param(p + "mlp.ln.w"), param(p + "mlp.ln.b"),
                                    point(p + "mlp.ln.hook_scale"), point(p + "mlp.ln.hook_normalized"))
                            : new LayerNorm(NormalizationType.LN_PRE, cfg.eps(), null, null,
                                    point(p + "mlp.ln.hook_scale"), point(p + "mlp.ln.hook_normalized"));
                }
                mlp = new Mlp(cfg.actFn(), param(p + "mlp.W_in"), param(p + "mlp.b_in"), param(p + "mlp.W_out"),
                        param(p + "mlp.b_out"), mlpLn, point(p + "mlp.hook_pre"), hookMid, point(p + "mlp.hook_post"));
            }
            // Creation order is TransformerLens's hook_dict order.
            HookPoint attnIn = point(p + "hook_attn_in");
            HookPoint qInput = point(p + "hook_q_input");
            HookPoint kInput = point(p + "hook_k_input");
            HookPoint vInput = point(p + "hook_v_input");
            HookPoint mlpIn = point(p + "hook_mlp_in");
            HookPoint attnOut = point(p + "hook_attn_out");
            HookPoint mlpOut = point(p + "hook_mlp_out");
            HookPoint residPre = point(p + "hook_resid_pre");
            HookPoint residMid = cfg.attnOnly() ? null : point(p + "hook_resid_mid");
            HookPoint residPost = point(p + "hook_resid_post");
            TransformerBlock.Hooks hooks = new TransformerBlock.Hooks(residPre, attnIn, qInput, kInput, vInput,
                    attnOut, residMid, mlpIn, mlpOut, residPost);
            blocks.add(new TransformerBlock(ln1, ln2, attn, mlp, hooks));
        }
        NormalizationType finalNorm = norm;
        if (cfg.finalRms()) {
            finalNorm = norm == NormalizationType.LN ? NormalizationType.RMS
                    : norm == NormalizationType.LN_PRE ? NormalizationType.RMS_PRE : norm;
        }
        lnFinal = norm(finalNorm, "ln_final", cfg.dModel());
        unembed = new Unembed(param("unembed.W_U"), param("unembed.b_U"));
    }

    private HookPoint point(String name) {
        return hookPoints.computeIfAbsent(name, HookPoint::new);
    }

    private NDArray param(String name) {
        NDArray a = params.get(name);
        if (a == null) {
            throw new IllegalStateException("missing parameter " + name);
        }
        return a;
    }

    private LayerNorm norm(NormalizationType type, String prefix, int length) {
        return switch (type) {
            case NONE -> null;
            case LN -> new LayerNorm(type, cfg.eps(), param(prefix + ".w"), param(prefix + ".b"),
                    point(prefix + ".hook_scale"), point(prefix + ".hook_normalized"));
            case RMS -> new LayerNorm(type, cfg.eps(), param(prefix + ".w"), null,
                    point(prefix + ".hook_scale"), point(prefix + ".hook_normalized"));
            case LN_PRE, RMS_PRE -> new LayerNorm(type, cfg.eps(), null, null,
                    point(prefix + ".hook_scale"), point(prefix + ".hook_normalized"));
        };
    }

    // ------------------------------------------------------------------------------------------ creation

    /**
     * Builds a model from a TransformerLens state dict ({@code embed.W_E}, {@code blocks.0.attn.W_Q}, ...).
     * The model takes ownership of the arrays (they move to its manager; arrays of another dtype are
     * converted and the originals closed). Missing biases are filled with zeros and missing norm weights
     * with ones, as TransformerLens's {@code fill_missing_keys}; a missing weight matrix, a wrong shape
     * or an unexpected key is an error naming the key. The buffers {@code attn.mask} and
     * {@code attn.IGNORE} of TransformerLens checkpoints are ignored.
     */
    public static HookedTransformer fromStateDict(HookedTransformerConfig cfg, Map<String, NDArray> stateDict) {
        NDManager manager = NDManager.newBaseManager();
        try {
            LinkedHashMap<String, Shape> expected = expectedShapes(cfg);
            for (String key : stateDict.keySet()) {
                if (!expected.containsKey(key) && BUFFER_SUFFIXES.stream().noneMatch(key::endsWith)) {
                    throw new IllegalArgumentException("state dict key '" + key + "' is not a parameter of this "
                            + "model; closest: " + NameSuggestions.closest(key, expected.keySet()));
                }
            }
            LinkedHashMap<String, NDArray> params = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : expected.entrySet()) {
                String key = e.getKey();
                NDArray given = stateDict.get(key);
                NDArray value;
                if (given == null) {
                    value = defaultParameter(key, e.getValue(), cfg.dtype(), manager);
                } else {
                    if (!given.getShape().equals(e.getValue())) {
                        throw new IllegalArgumentException("state dict key '" + key + "' has shape " + given.getShape()
                                + " but this config needs " + e.getValue());
                    }
                    if (given.getDataType() == cfg.dtype()) {
                        value = given;
                    } else if (given.getDataType().isFloating()) {
                        value = given.toType(cfg.dtype(), true);
                    } else {
                        throw new IllegalArgumentException("state dict key '" + key + "' has dtype "
                                + given.getDataType() + "; a floating dtype is needed");
                    }
                    value.attach(manager);
                }
                params.put(key, value);
            }
            return new HookedTransformer(cfg, params, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Loads a pretrained model with TransformerLens's default processing (fold LayerNorm, centre writing
     * weights, centre the unembedding, fold value biases), as {@code HookedTransformer.from_pretrained}.
     * Needs {@code lens-models} on the class path.
     *
     * @param nameOrPath a registry name or alias, a hub repo id, or a local directory
     */
    public static HookedTransformer fromPretrained(String nameOrPath) throws IOException {
        return fromPretrained(nameOrPath, LoadOptions.defaults());
    }

    /** Loads a pretrained model without any weight processing ({@code from_pretrained_no_processing}). */
    public static HookedTransformer fromPretrainedNoProcessing(String nameOrPath) throws IOException {
        return fromPretrained(nameOrPath, LoadOptions.noProcessing());
    }

    /** Loads a pretrained model with explicit options. */
    public static HookedTransformer fromPretrained(String nameOrPath, LoadOptions options) throws IOException {
        return pretrainedLoader().load(nameOrPath, options);
    }

    /**
     * Loads a model from a local directory or checkpoint file, never from the hub, with TransformerLens's
     * default processing.
     */
    public static HookedTransformer fromPretrained(Path dirOrFile) throws IOException {
        return fromPretrained(dirOrFile, LoadOptions.defaults());
    }

    /** Loads a model from a local directory or checkpoint file without any weight processing. */
    public static HookedTransformer fromPretrainedNoProcessing(Path dirOrFile) throws IOException {
        return fromPretrained(dirOrFile, LoadOptions.noProcessing());
    }

    /** Loads a model from a local directory or checkpoint file, never from the hub, with explicit options. */
    public static HookedTransformer fromPretrained(Path dirOrFile, LoadOptions options) throws IOException {
        return pretrainedLoader().load(dirOrFile, options);
    }

    private static PretrainedLoader pretrainedLoader() {
        Iterator<PretrainedLoader> loaders = ServiceLoader.load(PretrainedLoader.class).iterator();
        if (!loaders.hasNext()) {
            throw new IllegalStateException("no PretrainedLoader found: add the lens-models module to the class path");
        }
        return loaders.next();
    }

    /**
     * Builds a model from an unprocessed TransformerLens state dict and applies weight processing, as
     * TransformerLens's {@code load_and_process_state_dict}.
     */
    public static HookedTransformer fromStateDict(HookedTransformerConfig cfg, Map<String, NDArray> stateDict,
            ProcessingOptions processing) {
        WeightProcessing.Result processed = WeightProcessing.process(cfg, stateDict, processing);
        return fromStateDict(processed.config(), processed.stateDict());
    }

    /**
     * A new model with randomly initialised weights, TransformerLens's {@code init_weights} in "gpt2" mode:
     * weight matrices from {@code N(0, initializer_range)}, biases 0, norm weights 1. Seeded by
     * {@code cfg.seed()} when set.
     */
    public static HookedTransformer init(HookedTransformerConfig cfg) {
        if (!"gpt2".equals(cfg.initMode())) {
            throw new IllegalArgumentException("init_mode '" + cfg.initMode() + "' is not supported (use gpt2)");
        }
        if (cfg.seed() != null) {
            Engine.getInstance().setRandomSeed(cfg.seed().intValue());
        }
        NDManager manager = NDManager.newBaseManager();
        try {
            LinkedHashMap<String, NDArray> params = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : expectedShapes(cfg).entrySet()) {
                String key = e.getKey();
                String last = key.substring(key.lastIndexOf('.') + 1);
                NDArray value = last.startsWith("W_")
                        ? manager.randomNormal(0f, (float) cfg.initializerRange(), e.getValue(), cfg.dtype())
                        : defaultParameter(key, e.getValue(), cfg.dtype(), manager);
                params.put(key, value);
            }
            return new HookedTransformer(cfg, params, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static NDArray defaultParameter(String key, Shape shape, DataType dtype, NDManager manager) {
        String last = key.substring(key.lastIndexOf('.') + 1);
        if (last.startsWith("W_")) {
            throw new IllegalArgumentException("state dict has no '" + key + "' (shape " + shape + ")");
        }
        return last.equals("w") ? manager.ones(shape, dtype) : manager.zeros(shape, dtype);
    }

    /** Every parameter of a model with this config and its shape, in TransformerLens's order. */
    public static LinkedHashMap<String, Shape> expectedShapes(HookedTransformerConfig cfg) {
        long d = cfg.dModel();
        long h = cfg.nHeads();
        long dh = cfg.dHead();
        long m = cfg.dMlp();
        LinkedHashMap<String, Shape> s = new LinkedHashMap<>();
        s.put("embed.W_E", new Shape(cfg.dVocab(), d));
        s.put("pos_embed.W_pos", new Shape(cfg.nCtx(), d));
        NormalizationType norm = cfg.normalizationType();
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".";
            normShapes(s, norm, p + "ln1", d);
            if (!cfg.attnOnly()) {
                normShapes(s, norm, p + "ln2", d);
            }
            s.put(p + "attn.W_Q", new Shape(h, d, dh));
            s.put(p + "attn.W_O", new Shape(h, dh, d));
            s.put(p + "attn.b_Q", new Shape(h, dh));
            s.put(p + "attn.b_O", new Shape(d));
            s.put(p + "attn.W_K", new Shape(h, d, dh));
            s.put(p + "attn.W_V", new Shape(h, d, dh));
            s.put(p + "attn.b_K", new Shape(h, dh));
            s.put(p + "attn.b_V", new Shape(h, dh));
            if (!cfg.attnOnly()) {
                s.put(p + "mlp.W_in", new Shape(d, m));
                s.put(p + "mlp.b_in", new Shape(m));
                s.put(p + "mlp.W_out", new Shape(m, d));
                s.put(p + "mlp.b_out", new Shape(d));
                if (cfg.isLayerNormActivation() && norm == NormalizationType.LN) {
                    s.put(p + "mlp.ln.w", new Shape(m));
                    s.put(p + "mlp.ln.b", new Shape(m));
                }
            }
        }
        NormalizationType finalNorm = norm;
        if (cfg.finalRms() && norm == NormalizationType.LN) {
            finalNorm = NormalizationType.RMS;
        }
        normShapes(s, finalNorm, "ln_final", d);
        s.put("unembed.W_U", new Shape(d, cfg.dVocabOut()));
        s.put("unembed.b_U", new Shape(cfg.dVocabOut()));
        return s;
    }

    private static void normShapes(Map<String, Shape> s, NormalizationType norm, String prefix, long d) {
        if (norm == NormalizationType.LN || norm == NormalizationType.RMS) {
            s.put(prefix + ".w", new Shape(d));
        }
        if (norm == NormalizationType.LN) {
            s.put(prefix + ".b", new Shape(d));
        }
    }

    // ------------------------------------------------------------------------------------------ accessors

    /** The configuration, including the current hook flags. */
    public HookedTransformerConfig config() {
        return cfg;
    }

    /** The manager that owns the weights. */
    public NDManager manager() {
        return manager;
    }

    /** The parameters by TransformerLens name, owned by the model (read-only view). */
    public Map<String, NDArray> stateDict() {
        return Collections.unmodifiableMap(params);
    }

    /** One parameter by TransformerLens name, e.g. {@code blocks.0.attn.W_Q}; owned by the model. */
    public NDArray parameter(String name) {
        NDArray a = params.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no parameter '" + name + "'; closest: "
                    + NameSuggestions.closest(name, params.keySet()));
        }
        return a;
    }

    // ------------------------------------------------------------------------------------------ tokens

    /** The tokenizer, or null when none is attached. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Attaches a tokenizer; the model closes it when it is closed (a previous one is closed now). */
    public void setTokenizer(Tokenizer tokenizer) {
        if (this.tokenizer != null && this.tokenizer != tokenizer) {
            this.tokenizer.close();
        }
        this.tokenizer = tokenizer;
    }

    private Tokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException("this model has no tokenizer: call setTokenizer(...) first");
        }
        return tokenizer;
    }

    /** Tokens {@code [1, pos]} of a text, BOS prepended if {@code default_prepend_bos}. */
    public NDArray toTokens(String text, NDManager m) {
        return toTokens(text, cfg.defaultPrependBos(), m);
    }

    /**
     * Tokens {@code [1, pos]} of a text. Unlike TransformerLens, which truncates to n_ctx, a text longer
     * than n_ctx is an error: a silently shortened prompt gives silently wrong numbers.
     */
    public NDArray toTokens(String text, boolean prependBos, NDManager m) {
        long[] ids = requireTokenizer().toTokens(text, prependBos);
        checkLength(ids.length);
        return m.create(new long[][] {ids});
    }

    /**
     * A padded batch of texts with its attention mask, padded on the tokenizer's default side.
     * Pass {@link TokenBatch#attentionMask()} to {@link ForwardOptions.Builder#attentionMask} so padding is
     * ignored on either side.
     */
    public TokenBatch toTokens(List<String> texts, boolean prependBos, PaddingSide side) {
        TokenBatch batch = requireTokenizer().toTokens(texts, prependBos, side);
        checkLength(batch.length());
        return batch;
    }

    private void checkLength(int length) {
        if (length > cfg.nCtx()) {
            throw new IllegalArgumentException("text is " + length + " tokens long, more than n_ctx = " + cfg.nCtx());
        }
    }

    /** Each token of a text as a string, BOS first if {@code default_prepend_bos}. */
    public List<String> toStrTokens(String text) {
        return requireTokenizer().toStrTokens(text, cfg.defaultPrependBos());
    }

    /** Each token as a string; tokens {@code [pos]} or {@code [1, pos]}. */
    public List<String> toStrTokens(NDArray tokens) {
        return requireTokenizer().toStrTokens(tokens.flatten().toType(DataType.INT64, false).toLongArray());
    }

    /** The text of tokens {@code [pos]} (special tokens kept). */
    public String toString(NDArray tokens) {
        return requireTokenizer().toString(tokens.flatten().toType(DataType.INT64, false).toLongArray());
    }

    /** The id of a string that is exactly one token (no BOS). */
    public long toSingleToken(String token) {
        return requireTokenizer().toSingleToken(token);
    }

    /** The position of a single token in a text (BOS counts as position 0 when prepended). */
    public int getTokenPosition(String singleToken, String input, boolean last) {
        return requireTokenizer().getTokenPosition(singleToken, input, last, cfg.defaultPrependBos());
    }

    // ------------------------------------------------------------------------------------------ weights
    // TransformerLens's weight properties. Single matrices are the model's own arrays (do not close
    // them); stacked ones are new arrays owned by the given manager.

    /** The token embedding {@code W_E [d_vocab, d_model]} (the model's own array). */
    public NDArray W_E() {
        return parameter("embed.W_E");
    }

    /** The positional embedding {@code W_pos [n_ctx, d_model]} (the model's own array). */
    public NDArray W_pos() {
        return parameter("pos_embed.W_pos");
    }

    /** The unembedding {@code W_U [d_model, d_vocab_out]} (the model's own array). */
    public NDArray W_U() {
        return parameter("unembed.W_U");
    }

    /** The unembedding bias {@code b_U [d_vocab_out]} (the model's own array). */
    public NDArray b_U() {
        return parameter("unembed.b_U");
    }

    /** {@code W_Q} stacked over layers {@code [n_layers, n_heads, d_model, d_head]}, owned by {@code m}. */
    public NDArray W_Q(NDManager m) {
        return stack("attn.W_Q", m);
    }

    /** {@code W_K} stacked over layers {@code [n_layers, n_heads, d_model, d_head]}, owned by {@code m}. */
    public NDArray W_K(NDManager m) {
        return stack("attn.W_K", m);
    }

    /** {@code W_V} stacked over layers {@code [n_layers, n_heads, d_model, d_head]}, owned by {@code m}. */
    public NDArray W_V(NDManager m) {
        return stack("attn.W_V", m);
    }

    /** {@code W_O} stacked over layers {@code [n_layers, n_heads, d_head, d_model]}, owned by {@code m}. */
    public NDArray W_O(NDManager m) {
        return stack("attn.W_O", m);
    }

    /** {@code b_Q} stacked {@code [n_layers, n_heads, d_head]}, owned by {@code m}. */
    public NDArray b_Q(NDManager m) {
        return stack("attn.b_Q", m);
    }

    /** {@code b_K} stacked {@code [n_layers, n_heads, d_head]}, owned by {@code m}. */
    public NDArray b_K(NDManager m) {
        return stack("attn.b_K", m);
    }

    /** {@code b_V} stacked {@code [n_layers, n_heads, d_head]}, owned by {@code m}. */
    public NDArray b_V(NDManager m) {
        return stack("attn.b_V", m);
    }

    /** {@code b_O} stacked {@code [n_layers, d_model]}, owned by {@code m}. */
    public NDArray b_O(NDManager m) {
        return stack("attn.b_O", m);
    }

    /** {@code W_in} stacked {@code [n_layers, d_model, d_mlp]}, owned by {@code m}. */
    public NDArray W_in(NDManager m) {
        return stack("mlp.W_in", m);
    }

    /** {@code W_out} stacked {@code [n_layers, d_mlp, d_model]}, owned by {@code m}. */
    public NDArray W_out(NDManager m) {
        return stack("mlp.W_out", m);
    }

    /** {@code b_in} stacked {@code [n_layers, d_mlp]}, owned by {@code m}. */
    public NDArray b_in(NDManager m) {
        return stack("mlp.b_in", m);
    }

    /** {@code b_out} stacked {@code [n_layers, d_model]}, owned by {@code m}. */
    public NDArray b_out(NDManager m) {
        return stack("mlp.b_out", m);
    }

    private NDArray stack(String suffix, NDManager m) {
        if (cfg.attnOnly() && suffix.startsWith("mlp.")) {
            throw new IllegalStateException("the model is attention-only: it has no " + suffix);
        }
        NDList list = new NDList();
        for (int l = 0; l < cfg.nLayers(); l++) {
            list.add(parameter("blocks." + l + "." + suffix));
        }
        NDArray stacked = NDArrays.stack(list);
        stacked.attach(m);
        return stacked;
    }

    /**
     * The sum of the biases written to the residual stream before a layer, TransformerLens's
     * {@code accumulated_bias}: {@code sum_{i < layer} (b_O[i] + b_out[i])}, plus {@code b_O[layer]} when
     * {@code mlpInput}.
     *
     * @param includeMlpBiases whether to add the MLP output biases
     * @return {@code [d_model]}, owned by {@code m}
     */
    public NDArray accumulatedBias(int layer, boolean mlpInput, boolean includeMlpBiases, NDManager m) {
        NDArray total = m.zeros(new Shape(cfg.dModel()), cfg.dtype());
        for (int i = 0; i < layer; i++) {
            total.addi(parameter("blocks." + i + ".attn.b_O"));
            if (includeMlpBiases && !cfg.attnOnly()) {
                total.addi(parameter("blocks." + i + ".mlp.b_out"));
            }
        }
        if (mlpInput) {
            total.addi(parameter("blocks." + layer + ".attn.b_O"));
        }
        return total;
    }

    /**
     * The residual-stream directions of tokens, {@code W_U[:, token]}, TransformerLens's
     * {@code tokens_to_residual_directions}.
     *
     * @param tokens int tokens of any shape {@code [...]}
     * @return {@code [..., d_model]}, owned by the tokens' manager
     */
    public NDArray tokensToResidualDirections(NDArray tokens) {
        NDArray t = tokens.toType(DataType.INT64, false);
        long min = t.min().getLong();
        long max = t.max().getLong();
        if (min < 0 || max >= cfg.dVocabOut()) {
            throw new IllegalArgumentException("token id out of range [0, " + cfg.dVocabOut() + "): " + (min < 0 ? min : max));
        }
        NDArray dirs = W_U().transpose().get(new NDIndex("{}", t));
        dirs.attach(tokens.getManager());
        return dirs;
    }

    /** The labels of every head, {@code L0H0, L0H1, ...} (TransformerLens's {@code all_head_labels}). */
    public List<String> allHeadLabels() {
        List<String> labels = new ArrayList<>();
        for (int l = 0; l < cfg.nLayers(); l++) {
            for (int h = 0; h < cfg.nHeads(); h++) {
                labels.add("L" + l + "H" + h);
            }
        }
        return labels;
    }

    /** Every hook point name, in TransformerLens's registration ({@code hook_dict}) order. */
    public List<String> hookNames() {
        return List.copyOf(hookPoints.keySet());
    }

    /** The hook point with this full name (or shorthand); unknown names throw with the closest real names. */
    public HookPoint hookPoint(String name) {
        HookPoint p = hookPoints.get(name);
        if (p == null) {
            p = hookPoints.get(ActNames.getActName(name));
        }
        if (p == null) {
            throw new HookException("no hook point '" + name + "'; closest: "
                    + NameSuggestions.closest(name, hookPoints.keySet()));
        }
        return p;
    }

    /** Turns the per-head outputs {@code attn.hook_result} on or off (TransformerLens's set_use_attn_result). */
    public void setUseAttnResult(boolean on) {
        cfg = cfg.toBuilder().useAttnResult(on).build();
    }

    /** Turns the per-head Q/K/V inputs ({@code hook_q_input} ...) on or off. */
    public void setUseSplitQkvInput(boolean on) {
        cfg = cfg.toBuilder().useSplitQkvInput(on).build();
    }

    /** Turns {@code hook_mlp_in} on or off. */
    public void setUseHookMlpIn(boolean on) {
        cfg = cfg.toBuilder().useHookMlpIn(on).build();
    }

    /** Turns {@code hook_attn_in} on or off. */
    public void setUseAttnIn(boolean on) {
        cfg = cfg.toBuilder().useAttnIn(on).build();
    }

    /**
     * Why a hook point does not fire under the current configuration, or null if it does. TransformerLens
     * registers these points on every model but silently never calls hooks on them; lens4j refuses
     * such hooks instead, so an experiment never runs with a hook that did nothing.
     */
    private String whyNotFiring(String name) {
        if (name.endsWith("attn.hook_result") && !cfg.useAttnResult()) {
            return "use_attn_result is off (call setUseAttnResult(true))";
        }
        if ((name.endsWith("hook_q_input") || name.endsWith("hook_k_input") || name.endsWith("hook_v_input"))
                && !cfg.useSplitQkvInput()) {
            return "use_split_qkv_input is off (call setUseSplitQkvInput(true))";
        }
        if (name.endsWith("hook_attn_in") && !cfg.useAttnIn()) {
            return "use_attn_in is off (call setUseAttnIn(true))";
        }
        if (name.endsWith("hook_mlp_in") && (cfg.attnOnly() || !cfg.useHookMlpIn())) {
            return cfg.attnOnly() ? "the model is attention-only" : "use_hook_mlp_in is off (call setUseHookMlpIn(true))";
        }
        if (name.endsWith("hook_mlp_out") && cfg.attnOnly()) {
            return "the model is attention-only";
        }
        if (name.equals("hook_tokens") && !cfg.useHookTokens()) {
            return "use_hook_tokens is off";
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ hooks

    /** Adds a hook until {@link #resetHooks()} (TransformerLens's {@code add_hook}). */
    public void addHook(String name, HookFunction fn) {
        addHook(Hook.of(name, fn), false, 0);
    }

    /** Adds a hook on every point the filter accepts, until {@link #resetHooks()}. */
    public void addHook(Predicate<String> filter, HookFunction fn) {
        addHook(Hook.matching(filter, fn), false, 0);
    }

    /** Adds a permanent hook, which survives {@link #resetHooks()} and hook scopes. */
    public void addPermaHook(String name, HookFunction fn) {
        addHook(Hook.of(name, fn), true, 0);
    }

    private void addHook(Hook hook, boolean permanent, int level) {
        for (HookPoint p : resolve(hook)) {
            p.add(hook.function(), permanent, level);
        }
    }

    /** The hook points a hook applies to; checks that named points exist and fire. */
    private List<HookPoint> resolve(Hook hook) {
        if (hook.name() != null) {
            HookPoint p = hookPoint(hook.name());
            String why = whyNotFiring(p.name());
            if (why != null) {
                throw new HookException("hook point '" + p.name() + "' never fires: " + why);
            }
            return List.of(p);
        }
        List<HookPoint> points = new ArrayList<>();
        for (HookPoint p : hookPoints.values()) {
            if (hook.filter().test(p.name()) && whyNotFiring(p.name()) == null) {
                points.add(p);
            }
        }
        return points;
    }

    /** Removes every non-permanent hook. */
    public void resetHooks() {
        resetHooks(false);
    }

    /** Removes every hook; permanent ones too if asked. */
    public void resetHooks(boolean includingPermanent) {
        for (HookPoint p : hookPoints.values()) {
            p.removeAll(includingPermanent);
        }
    }

    /**
     * Adds hooks for a block of code: {@code try (var scope = model.hooks(h1, h2)) { ... }}. Closing the
     * scope removes them, also after an exception.
     */
    public HookScope hooks(Hook... hooks) {
        int level = ++hookLevel;
        HookScope scope = new HookScope(this, level);
        try {
            for (Hook h : hooks) {
                addHook(h, false, level);
            }
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
        return scope;
    }

    void exitHookLevel(int level) {
        for (HookPoint p : hookPoints.values()) {
            p.removeNonPermanent(level);
        }
        hookLevel = level - 1;
    }

    /** Logits with temporary hooks, removed when the call returns or throws. */
    public NDArray runWithHooks(NDArray tokens, Hook... hooks) {
        return runWithHooks(tokens, ForwardOptions.DEFAULT, hooks).logits();
    }

    /** A forward pass with temporary hooks, removed when the call returns or throws. */
    public Output runWithHooks(NDArray input, ForwardOptions options, Hook... hooks) {
        try (HookScope scope = hooks(hooks)) {
            return run(input, options);
        }
    }

    // ------------------------------------------------------------------------------------------ cache

    /** Logits and every activation. */
    public CachedRun runWithCache(NDArray tokens) {
        return runWithCache(tokens, CacheOptions.all());
    }

    /** Logits and the named activations (full names or shorthand; unknown names throw). */
    public CachedRun runWithCache(NDArray tokens, String... names) {
        Set<String> wanted = new java.util.HashSet<>();
        for (String n : names) {
            wanted.add(hookPoint(n).name());
        }
        return runWithCache(tokens, CacheOptions.filter(wanted::contains));
    }

    /**
     * A forward pass that records the activations the filter selects (after any other hooks, so edited
     * values are recorded), and optionally their gradients.
     */
    public CachedRun runWithCache(NDArray input, CacheOptions options) {
        if (options.inclBwd() && (options.forward().returnType() != ReturnType.LOSS || options.forward().lossPerToken())) {
            throw new IllegalArgumentException("inclBwd needs a scalar output: use returnType LOSS without lossPerToken");
        }
        ActivationCache cache = new ActivationCache(this, input.getManager());
        Map<NDArray, Boolean> cached = new IdentityHashMap<>();
        Map<String, NDArray> probes = new LinkedHashMap<>();
        int level = ++hookLevel;
        HookScope scope = new HookScope(this, level);
        try (scope) {
            for (HookPoint p : hookPoints.values()) {
                if (!options.namesFilter().test(p.name()) || whyNotFiring(p.name()) != null) {
                    continue;
                }
                p.addObserver((act, hook) -> {
                    NDScope.unregister(act);
                    cache.put(hook.name(), act);
                    cached.put(act, Boolean.TRUE);
                    if (!options.inclBwd()) {
                        return null;
                    }
                    // dL/d(activation) is the gradient of a zero probe added here.
                    NDArray probe = act.zerosLike();
                    NDScope.unregister(probe); // must outlive the pass until backward
                    probe.setRequiresGradient(true);
                    probes.put(hook.name(), probe);
                    return act.add(probe);
                }, level);
            }
            Output out;
            if (options.inclBwd()) {
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    out = run(input, options.forward(), cached);
                    collector.backward(out.loss());
                    for (Map.Entry<String, NDArray> e : probes.entrySet()) {
                        NDArray grad = e.getValue().getGradient().duplicate();
                        cache.put(e.getKey() + "_grad", grad);
                    }
                } finally {
                    probes.values().forEach(NDArray::close);
                }
            } else {
                out = run(input, options.forward(), cached);
            }
            if (options.removeBatchDim()) {
                cache.removeBatchDim();
            }
            return new CachedRun(out, cache);
        } catch (RuntimeException e) {
            cache.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------------------------------ forward

    /** Logits {@code [batch, pos, d_vocab_out]} for tokens {@code [batch, pos]} (or {@code [pos]}). */
    public NDArray forward(NDArray tokens) {
        return run(tokens, ForwardOptions.DEFAULT).logits();
    }

    /** The mean next-token cross-entropy loss (a scalar) for tokens {@code [batch, pos]}. */
    public NDArray loss(NDArray tokens) {
        return run(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).build()).loss();
    }

    /** The per-token loss {@code [batch, pos - 1]}: {@code -log p(tokens[b, t + 1])} at position t. */
    public NDArray lossPerToken(NDArray tokens) {
        return run(tokens, ForwardOptions.builder().returnType(ReturnType.LOSS).lossPerToken(true).build()).loss();
    }

    /**
     * A forward pass with options (TransformerLens's {@code forward(input, return_type=..., ...)}).
     *
     * @param input tokens {@code [batch, pos]} or {@code [pos]}; the residual stream {@code [batch, pos,
     *     d_model]} when {@code startAtLayer} is set
     * @return the output, owned by the input's manager
     */
    public Output run(NDArray input, ForwardOptions options) {
        return run(input, options, Map.of());
    }

    private Output run(NDArray input, ForwardOptions o, Map<NDArray, Boolean> cached) {
        NDManager target = input.getManager();
        int nLayers = cfg.nLayers();
        int start = o.startAtLayer() == null ? 0 : normaliseLayer(o.startAtLayer(), "startAtLayer");
        int stop = o.stopAtLayer() == null ? nLayers : normaliseLayer(o.stopAtLayer(), "stopAtLayer");
        try (NDScope scope = new NDScope()) {
            NDArray tokens = o.tokens();
            NDArray residual;
            NDArray shortformerPos = o.shortformerPosEmbed();
            NDArray mask = o.attentionMask();
            if (o.startAtLayer() == null) {
                tokens = checkTokens(input);
                mask = checkMask(mask, tokens);
                if (cfg.useHookTokens()) {
                    tokens = hookTokens.fire(tokens);
                }
                Shape ts = tokens.getShape();
                NDArray embedded = hookEmbed.fire(embed.forward(tokens));
                NDArray pos = hookPosEmbed.fire(posEmbed.forward(ts.get(0), ts.get(1), mask));
                if (cfg.positionalEmbeddingType() == PositionalEmbeddingType.SHORTFORMER) {
                    residual = embedded;
                    shortformerPos = pos;
                } else {
                    residual = embedded.add(pos);
                }
            } else {
                if (input.getShape().dimension() != 3 || input.getShape().get(2) != cfg.dModel()) {
                    throw new IllegalArgumentException("with startAtLayer the input must be a residual stream [batch, pos, "
                            + cfg.dModel() + "], not " + input.getShape());
                }
                residual = input;
                if (tokens != null) {
                    tokens = checkTokens(tokens);
                }
                if (mask != null) {
                    mask = checkMask(mask, residual);
                }
            }
            long p = residual.getShape().get(1);
            NDArray maskBias = attentionMaskBias(p, mask, residual);
            for (int l = start; l < stop; l++) {
                residual = blocks.get(l).forward(residual, shortformerPos, cfg, maskBias, mask != null);
            }
            NDArray logits = null;
            NDArray loss = null;
            NDArray stopResidual = null;
            if (o.stopAtLayer() != null) {
                stopResidual = keep(residual, target, cached);
            } else {
                NDArray normed = lnFinal == null ? residual : lnFinal.forward(residual);
                if (o.returnType() != ReturnType.NONE) {
                    NDArray lg = unembed.forward(normed);
                    if (o.returnType() == ReturnType.LOSS || o.returnType() == ReturnType.BOTH) {
                        if (tokens == null) {
                            throw new IllegalArgumentException("the loss needs tokens: pass them in ForwardOptions.tokens");
                        }
                        loss = keep(Losses.crossEntropy(lg, tokens, mask, o.lossPerToken()), target, cached);
                    }
                    if (o.returnType() == ReturnType.LOGITS || o.returnType() == ReturnType.BOTH) {
                        logits = keep(lg, target, cached);
                    }
                }
            }
            return new Output(logits, loss, stopResidual);
        }
    }

    /** Moves a result out of the pass's scope into the caller's manager (a copy if the cache owns it). */
    private static NDArray keep(NDArray a, NDManager target, Map<NDArray, Boolean> cached) {
        NDArray result = cached.containsKey(a) ? a.duplicate() : a;
        NDScope.unregister(result);
        result.attach(target);
        return result;
    }

    private int normaliseLayer(int layer, String what) {
        int n = cfg.nLayers();
        int l = layer < 0 ? layer + n : layer;
        if (l < 0 || l > n) {
            throw new IllegalArgumentException(what + " " + layer + " is out of range for " + n + " layers");
        }
        return l;
    }

    /** Checks token ids and length; returns int64 tokens {@code [batch, pos]}. */
    private NDArray checkTokens(NDArray tokens) {
        Shape s = tokens.getShape();
        if (s.dimension() == 1) {
            tokens = tokens.expandDims(0);
            s = tokens.getShape();
        }
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("tokens must be [batch, pos] or [pos], not " + s);
        }
        if (!tokens.getDataType().isInteger()) {
            throw new IllegalArgumentException("tokens must be integers, not " + tokens.getDataType());
        }
        if (tokens.getDataType() != DataType.INT64) {
            tokens = tokens.toType(DataType.INT64, false);
        }
        if (s.get(1) > cfg.nCtx()) {
            throw new IllegalArgumentException("sequence of " + s.get(1) + " tokens is longer than n_ctx = " + cfg.nCtx());
        }
        if (s.get(1) == 0) {
            throw new IllegalArgumentException("tokens are empty: " + s);
        }
        long min = tokens.min().getLong();
        long max = tokens.max().getLong();
        if (min < 0 || max >= cfg.dVocab()) {
            long bad = min < 0 ? min : max;
            long[] flat = tokens.toLongArray();
            int at = 0;
            while (flat[at] != bad) {
                at++;
            }
            throw new IllegalArgumentException("token id " + bad + " at [" + at / s.get(1) + ", " + at % s.get(1)
                    + "] is out of range for d_vocab = " + cfg.dVocab());
        }
        return tokens;
    }

    private static NDArray checkMask(NDArray mask, NDArray like) {
        if (mask == null) {
            return null;
        }
        Shape want = new Shape(like.getShape().get(0), like.getShape().get(1));
        if (!mask.getShape().equals(want)) {
            throw new IllegalArgumentException("attention mask has shape " + mask.getShape() + " but the input needs " + want);
        }
        return mask.toType(DataType.BOOLEAN, false);
    }

    /**
     * {@code [batch or 1, 1, pos, pos]}: 0 where a query may attend to a key (causal order, and the key is
     * not padding), {@code -inf} elsewhere; null when everything is allowed.
     */
    private NDArray attentionMaskBias(long p, NDArray mask, NDArray like) {
        NDManager m = like.getManager();
        NDArray allowed = null;
        if (cfg.causal()) {
            NDArray idx = m.arange(p);
            allowed = idx.reshape(p, 1).gte(idx.reshape(1, p)).reshape(1, 1, p, p);
        }
        if (mask != null) {
            NDArray keys = mask.reshape(mask.getShape().get(0), 1, 1, p);
            allowed = allowed == null ? keys : allowed.logicalAnd(keys);
        }
        if (allowed == null) {
            return null;
        }
        // log(1) = 0 and log(0) = -inf
        return allowed.toType(like.getDataType(), false).log();
    }

    /** Frees the weights. */
    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        manager.close();
    }

    @Override
    public String toString() {
        return "HookedTransformer(" + cfg.modelName() + ", " + cfg.nLayers() + " layers, d_model " + cfg.dModel() + ")";
    }

    // ------------------------------------------------------------------------------------------ circuits

    /**
     * Every head's OV circuit {@code W_V[l, h] @ W_O[l, h]}, TransformerLens's {@code model.OV}: a factored
     * {@code [n_layers, n_heads, d_model, d_model]} matrix of hidden dimension {@code d_head}, in a child of
     * {@code m}. It owns its freshly stacked factors: {@link FactoredMatrix#close()} frees them with
     * everything it computed (closing {@code m} does too).
     */
    public FactoredMatrix OV(NDManager m) {
        NDArray wV = W_V(m);
        NDArray wO = W_O(m);
        FactoredMatrix ov = FactoredMatrix.ov(wV, wO);
        ov.getManager().attachAll(wV, wO);
        return ov;
    }

    /**
     * Every head's QK circuit {@code W_Q[l, h] @ W_K[l, h]^T}, TransformerLens's {@code model.QK}: a factored
     * {@code [n_layers, n_heads, d_model, d_model]} matrix (query direction x key direction) of hidden
     * dimension {@code d_head}, in a child of {@code m}, owning its stacked factors like {@link #OV}.
     */
    public FactoredMatrix QK(NDManager m) {
        NDArray wQ = W_Q(m);
        NDArray wK = W_K(m);
        FactoredMatrix qk = FactoredMatrix.qk(wQ, wK);
        qk.getManager().attachAll(wQ, wK);
        return qk;
    }

    /**
     * TransformerLens's {@code all_composition_scores(mode)}: how strongly each head's Q, K or V input reads
     * each earlier head's output, {@code [n_layers, n_heads, n_layers, n_heads]} indexed (earlier layer,
     * earlier head, later layer, later head), 0 unless the first layer is below the second.
     *
     * @return the scores, owned by {@code m}
     */
    public NDArray allCompositionScores(CompositionScores.Mode mode, NDManager m) {
        try (NDManager tmp = m.newSubManager(); FactoredMatrix ov = OV(tmp); FactoredMatrix qk = QK(tmp)) {
            NDArray scores = CompositionScores.all(ov, qk, mode);
            scores.attach(m);
            return scores;
        }
    }
}
