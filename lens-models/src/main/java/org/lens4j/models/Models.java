package org.lens4j.models;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import org.lens4j.models.zoo.ZooModels;
import java.util.Map;
import java.util.Optional;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.NameSuggestions;

/**
 * The registry of pretrained models {@link org.lens4j.core.HookedTransformer#fromPretrained} knows by name:
 * TransformerLens's official names and aliases (its {@code OFFICIAL_MODEL_NAMES} and {@code MODEL_ALIASES})
 * for the GPT-2 family and Neel Nanda's attn-only, GELU and SoLU models. Look-up ignores case, as
 * TransformerLens's {@code get_official_model_name} does.
 *
 * <pre>{@code
 * ModelInfo info = Models.get("solu-2l");   // NeelNanda/SoLU_2L512W_C4_Code
 * Models.list().forEach(m -> System.out.println(m.officialName() + " " + m.aliases()));
 * }</pre>
 */
public final class Models {

    private static final String GPT2_WEIGHTS = "model.safetensors";
    private static final String NEEL_WEIGHTS = "*final.pth";
    private static final String DIGITS_TOKENIZER = "NeelNanda/gpt-neox-tokenizer-digits";
    private static final String NEOX_TOKENIZER = "EleutherAI/gpt-neox-20b";
    private static final int DIGITS_VOCAB = 48262;
    private static final int PILE_VOCAB = 50278;

    private static final List<ModelInfo> MODELS = build();
    private static final Map<String, ModelInfo> BY_NAME = index(MODELS);

    private Models() {}

    /** Every registered model, GPT-2 family first, each once. */
    public static List<ModelInfo> list() {
        return MODELS;
    }

    /**
     * Looks up an official name or alias, ignoring case.
     *
     * @param nameOrAlias e.g. {@code "gpt2-small"}, {@code "attn-only-2l"}, {@code "NeelNanda/GELU_1L512W_C4_Code"}
     * @return the model, or empty if the name is not registered
     */
    public static Optional<ModelInfo> find(String nameOrAlias) {
        return Optional.ofNullable(BY_NAME.get(nameOrAlias.toLowerCase(Locale.ROOT)));
    }

    /**
     * Looks up an official name or alias, ignoring case.
     *
     * @param nameOrAlias e.g. {@code "gpt2-small"}
     * @return the model
     * @throws IllegalArgumentException for an unknown name, suggesting the closest registered names
     */
    public static ModelInfo get(String nameOrAlias) {
        return find(nameOrAlias).orElseThrow(() -> new IllegalArgumentException(unknownMessage(nameOrAlias)));
    }

    /** The message for a name that is not registered, with the closest names. */
    static String unknownMessage(String name) {
        return "unknown model '" + name + "'; closest registered names: "
                + NameSuggestions.closest(name.toLowerCase(Locale.ROOT), BY_NAME.keySet())
                + " (Models.list() has them all; the shipped zoo " + ZooModels.list()
                + ", a hub repo id 'org/name' or a local directory also work)";
    }

    private static Map<String, ModelInfo> index(List<ModelInfo> models) {
        Map<String, ModelInfo> byName = new LinkedHashMap<>();
        for (ModelInfo m : models) {
            List<String> names = new ArrayList<>(m.aliases());
            names.add(m.officialName());
            for (String n : names) {
                ModelInfo previous = byName.put(n.toLowerCase(Locale.ROOT), m);
                if (previous != null && previous != m) {
                    throw new IllegalStateException("registry name '" + n + "' is used twice");
                }
            }
        }
        return Map.copyOf(byName);
    }

    private static List<ModelInfo> build() {
        List<ModelInfo> m = new ArrayList<>();
        m.add(gpt2("gpt2", 12, 768, 12, "gpt2-small"));
        m.add(gpt2("gpt2-medium", 24, 1024, 16));
        m.add(gpt2("gpt2-large", 36, 1280, 20));
        m.add(gpt2("gpt2-xl", 48, 1600, 25));
        m.add(gpt2("distilgpt2", 6, 768, 12, "distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"));
        for (int n = 1; n <= 4; n++) {
            m.add(neel("NeelNanda/Attn_Only_" + n + "L512W_C4_Code", newAliases("attn-only-" + n + "l"),
                    new Shape(n, 512, 8, 2048), "solu_ln", "LN", true, false, false, DIGITS_VOCAB, DIGITS_TOKENIZER));
        }
        m.add(neel("NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr", List.of("attn-only-2l-demo",
                        "attn-only-2l-shortformer-6b-big-lr", "attn-only-2l-induction-demo", "attn-only-demo"),
                new Shape(2, 512, 8, 2048), "solu_ln", null, true, true, false, 50277, NEOX_TOKENIZER));
        for (int n = 1; n <= 4; n++) {
            m.add(neel("NeelNanda/GELU_" + n + "L512W_C4_Code", newAliases("gelu-" + n + "l"),
                    new Shape(n, 512, 8, 2048), "gelu", "LN", false, false, false, DIGITS_VOCAB, DIGITS_TOKENIZER));
        }
        for (int n = 1; n <= 4; n++) {
            m.add(solu("NeelNanda/SoLU_" + n + "L512W_C4_Code", newAliases("solu-" + n + "l"), new Shape(n, 512, 8, 2048)));
        }
        m.add(solu("NeelNanda/SoLU_6L768W_C4_Code", newAliases("solu-6l"), new Shape(6, 768, 12, 3072)));
        m.add(solu("NeelNanda/SoLU_8L1024W_C4_Code", newAliases("solu-8l"), new Shape(8, 1024, 16, 4096)));
        m.add(solu("NeelNanda/SoLU_10L1280W_C4_Code", newAliases("solu-10l"), new Shape(10, 1280, 20, 5120)));
        m.add(solu("NeelNanda/SoLU_12L1536W_C4_Code", newAliases("solu-12l"), new Shape(12, 1536, 24, 6144)));
        for (int n : new int[] {1, 4}) {
            m.add(solu("NeelNanda/SoLU_" + n + "L512W_Wiki_Finetune",
                    List.of("solu-" + n + "l-wiki", "solu-" + n + "l-wiki-finetune", "solu-" + n + "l-finetune"),
                    new Shape(n, 512, 8, 2048)));
        }
        m.add(soluOld("NeelNanda/SoLU_1L_v9_old", new Shape(1, 1024, 16, 4096), "LN", true));
        m.add(soluOld("NeelNanda/SoLU_2L_v10_old", new Shape(2, 736, 11, 2944), "LNPre", true));
        m.add(soluOld("NeelNanda/SoLU_4L_v11_old", new Shape(4, 512, 8, 2048), "LNPre", true));
        m.add(soluOld("NeelNanda/SoLU_6L_v13_old", new Shape(6, 768, 12, 3072), "LNPre", true));
        m.add(soluOld("NeelNanda/SoLU_8L_v21_old", new Shape(8, 1024, 16, 4096), "LNPre", false));
        m.add(soluOld("NeelNanda/SoLU_10L_v22_old", new Shape(10, 1280, 20, 5120), "LNPre", false));
        m.add(soluOld("NeelNanda/SoLU_12L_v23_old", new Shape(12, 1536, 24, 6144), "LN", false));
        return List.copyOf(m);
    }

    /** Layers, width, heads (of 64) and MLP width of a registered model. */
    private record Shape(int layers, int dModel, int heads, int dMlp) {}

    private static List<String> newAliases(String alias) {
        return List.of(alias, alias + "-new", alias + "-c4-code");
    }

    /** A GPT-2 model; its config is what {@link Gpt2Converter#config} makes of the repo's config.json. */
    private static ModelInfo gpt2(String name, int layers, int dModel, int heads, String... aliases) {
        JsonObject hf = new JsonObject();
        JsonArray architectures = new JsonArray();
        architectures.add(Gpt2Converter.ARCHITECTURE);
        hf.add("architectures", architectures);
        hf.addProperty("n_layer", layers);
        hf.addProperty("n_embd", dModel);
        hf.addProperty("n_head", heads);
        hf.addProperty("n_ctx", 1024);
        hf.addProperty("vocab_size", 50257);
        hf.addProperty("layer_norm_epsilon", 1e-5);
        hf.addProperty("activation_function", "gelu_new");
        HookedTransformerConfig cfg = Gpt2Converter.config(hf, name);
        return new ModelInfo(name, List.of(aliases), WeightFormat.HF_GPT2, List.of("config.json", GPT2_WEIGHTS),
                name, cfg);
    }

    private static ModelInfo solu(String repo, List<String> aliases, Shape s) {
        return neel(repo, aliases, s, "solu_ln", "LN", false, false, false, DIGITS_VOCAB, DIGITS_TOKENIZER);
    }

    private static ModelInfo soluOld(String repo, Shape s, String normalization, boolean finalRms) {
        String alias = "solu-" + s.layers() + "l";
        return neel(repo, List.of(alias + "-pile", alias + "-old"), s, "solu_ln", normalization, false, false,
                finalRms, PILE_VOCAB, NEOX_TOKENIZER);
    }

    /** A Neel Nanda model; its config is what {@link NeelConverter#config} makes of the repo's config.json. */
    private static ModelInfo neel(String repo, List<String> aliases, Shape s, String actFn, String normalization,
            boolean attnOnly, boolean shortformer, boolean finalRms, int vocab, String tokenizer) {
        JsonObject c = new JsonObject();
        c.addProperty("n_layers", s.layers());
        c.addProperty("d_model", s.dModel());
        c.addProperty("n_heads", s.heads());
        c.addProperty("d_head", 64);
        c.addProperty("d_mlp", s.dMlp());
        c.addProperty("n_ctx", 1024);
        c.addProperty("d_vocab", vocab);
        c.addProperty("act_fn", actFn);
        c.addProperty("attn_only", attnOnly);
        c.addProperty("normalization", normalization);
        c.addProperty("shortformer_pos", shortformer);
        c.addProperty("final_rms", finalRms);
        c.addProperty("tokenizer_name", tokenizer);
        PretrainedConfig pc = PretrainedConfig.fromJson(c.toString(), repo);
        return new ModelInfo(repo, aliases, pc.weightFormat(), List.of("config.json", NEEL_WEIGHTS), tokenizer,
                pc.config());
    }
}
