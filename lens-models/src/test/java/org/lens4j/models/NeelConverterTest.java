package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.HookedTransformerConfig.PositionalEmbeddingType;
import org.lens4j.core.testing.Fixtures;

/** Neel Nanda's training configs and the old SoLU weight layout (TransformerLens's convert_neel_* functions). */
class NeelConverterTest {

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** A config.json as Neel Nanda's training code wrote it: TransformerLens keys plus training settings. */
    static JsonObject trainingConfig() {
        JsonObject c = new JsonObject();
        c.addProperty("n_layers", 1);
        c.addProperty("d_model", 64);
        c.addProperty("d_mlp", 256);
        c.addProperty("d_head", 16);
        c.addProperty("n_heads", 4);
        c.addProperty("n_ctx", 32);
        c.addProperty("d_vocab", 100);
        c.addProperty("act_fn", "solu_ln");
        c.addProperty("attn_only", false);
        c.addProperty("normalization", "LN");
        c.addProperty("shortformer_pos", false);
        c.addProperty("tokenizer_name", "NeelNanda/gpt-neox-tokenizer-digits");
        c.addProperty("lr_hidden", 2e-3);
        c.addProperty("ln_eps", 1e-6);
        c.addProperty("batch_size_per_device", 32);
        c.addProperty("use_bfloat16_matmul", true);
        return c;
    }

    @Test
    void trainingConfigKeepsTheModelKeysAndIgnoresTheRest() {
        HookedTransformerConfig cfg = NeelConverter.config(trainingConfig(), "NeelNanda/SoLU_1L512W_C4_Code");

        assertThat(cfg.nLayers()).isEqualTo(1);
        assertThat(cfg.dModel()).isEqualTo(64);
        assertThat(cfg.dMlp()).isEqualTo(256);
        assertThat(cfg.nHeads()).isEqualTo(4);
        assertThat(cfg.dVocab()).isEqualTo(100);
        assertThat(cfg.actFn()).isEqualTo("solu_ln");
        assertThat(cfg.normalizationType()).isEqualTo(NormalizationType.LN);
        assertThat(cfg.positionalEmbeddingType()).isEqualTo(PositionalEmbeddingType.STANDARD);
        assertThat(cfg.eps()).as("TransformerLens does not read ln_eps").isEqualTo(1e-5);
        assertThat(cfg.finalRms()).isFalse();
        assertThat(cfg.originalArchitecture()).isEqualTo("neel");
        assertThat(cfg.modelName()).isEqualTo("SoLU_1L512W_C4_Code");
        assertThat(cfg.tokenizerName()).isEqualTo("NeelNanda/gpt-neox-tokenizer-digits");
        assertThat(cfg.defaultPrependBos()).isTrue();
    }

    @Test
    void shortformerWithoutNormalizationAsTheAttnOnlyDemo() {
        JsonObject c = trainingConfig();
        c.add("normalization", com.google.gson.JsonNull.INSTANCE);
        c.addProperty("shortformer_pos", true);
        c.addProperty("attn_only", true);

        HookedTransformerConfig cfg = NeelConverter.config(c, "NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr");

        assertThat(cfg.normalizationType()).isEqualTo(NormalizationType.NONE);
        assertThat(cfg.positionalEmbeddingType()).isEqualTo(PositionalEmbeddingType.SHORTFORMER);
        assertThat(cfg.attnOnly()).isTrue();
    }

    @Test
    void oldRepoNamesAndTheArchitectureKeySelectTheOldSoluLayout() {
        JsonObject c = trainingConfig();
        c.addProperty("final_rms", true);
        assertThat(NeelConverter.config(c, "NeelNanda/SoLU_1L_v9_old").originalArchitecture()).isEqualTo("neel-solu-old");
        assertThat(NeelConverter.config(c, "NeelNanda/SoLU_1L_v9_old").finalRms()).isTrue();
        c.addProperty("architecture", "neel-solu-old");
        assertThat(NeelConverter.config(c, "my-dir").originalArchitecture()).isEqualTo("neel-solu-old");
        c.addProperty("architecture", "mingpt");
        assertThatThrownBy(() -> NeelConverter.config(c, "Baidicoot/Othello-GPT-Transformer-Lens"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'mingpt'");
    }

    @Test
    void normalizationTypeIsReadWhenNormalizationIsAbsent() {
        JsonObject c = trainingConfig();
        c.remove("normalization");
        c.addProperty("normalization_type", "LNPre");
        assertThat(NeelConverter.config(c, "NeelNanda/x").normalizationType()).isEqualTo(NormalizationType.LN_PRE);
        c.remove("normalization_type");
        assertThatThrownBy(() -> NeelConverter.config(c, "NeelNanda/x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'normalization'");
    }

    @Test
    void aMissingKeyIsNamed() {
        JsonObject c = trainingConfig();
        c.remove("d_head");
        assertThatThrownBy(() -> NeelConverter.config(c, "NeelNanda/SoLU_1L512W_C4_Code"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'d_head'")
                .hasMessageContaining("NeelNanda/SoLU_1L512W_C4_Code");
    }

    /**
     * The inverse of convert_neel_solu_old_weights, applied to TransformerLens weights: "ln" back to "norm",
     * ln_final to ln, and the transposes of the early files.
     */
    static LinkedHashMap<String, NDArray> toOldSolu(Map<String, NDArray> tl, int nLayers) {
        LinkedHashMap<String, NDArray> old = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : tl.entrySet()) {
            String key = e.getKey().replace("ln_final.", "ln.").replace("ln", "norm");
            NDArray v = e.getValue();
            int rank = v.getShape().dimension();
            boolean pos = key.equals("pos_embed.W_pos");
            if ((pos && nLayers <= 8) || (!pos && key.contains("W_") && nLayers <= 6)) {
                int[] axes = new int[rank];
                for (int i = 0; i < rank; i++) {
                    axes[i] = i;
                }
                axes[rank - 2] = rank - 1;
                axes[rank - 1] = rank - 2;
                v = v.transpose(axes).duplicate();
            }
            old.put(key, v);
        }
        return old;
    }

    @Test
    void oldSoluWeightsConvertBackToTransformerLensExactly() {
        Map<String, NDArray> tl = Fixtures.tensors("solu_ln_1l", "model/weights.safetensors", manager);
        LinkedHashMap<String, NDArray> old = toOldSolu(tl, 1);
        assertThat(old).containsKeys("blocks.0.norm1.w", "blocks.0.mlp.norm.b", "norm.w");
        assertThat(old.get("embed.W_E").getShape()).isEqualTo(new Shape(64, 100));

        LinkedHashMap<String, NDArray> converted = NeelConverter.convertSoluOld(old, Fixtures.config("solu_ln_1l",
                "model/config.json"));

        assertThat(converted.keySet()).containsExactlyElementsOf(tl.keySet());
        for (Map.Entry<String, NDArray> e : tl.entrySet()) {
            assertThat(converted.get(e.getKey()).getShape()).as(e.getKey()).isEqualTo(e.getValue().getShape());
            assertThat(converted.get(e.getKey()).toFloatArray()).as(e.getKey())
                    .containsExactly(e.getValue().toFloatArray());
        }
    }

    @Test
    void aWeightMatrixWithOneAxisIsNamed() {
        Map<String, NDArray> old = new LinkedHashMap<>();
        old.put("blocks.0.attn.W_Q", manager.zeros(new Shape(16)));

        assertThatThrownBy(() -> NeelConverter.convertSoluOld(old, Fixtures.config("solu_ln_1l", "model/config.json")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'blocks.0.attn.W_Q' has shape (16)");
    }

    @Test
    void onlyWPosIsTransposedForSevenAndEightLayersAndNothingAbove() {
        for (int layers : new int[] {6, 7, 8, 9}) {
            HookedTransformerConfig cfg = Fixtures.config("solu_ln_1l", "model/config.json").toBuilder()
                    .nLayers(layers).build();
            Map<String, NDArray> old = new LinkedHashMap<>();
            old.put("pos_embed.W_pos", manager.zeros(new Shape(64, 32)));
            old.put("blocks.0.attn.W_Q", manager.zeros(new Shape(4, 16, 64)));

            LinkedHashMap<String, NDArray> converted = NeelConverter.convertSoluOld(old, cfg);

            assertThat(converted.get("pos_embed.W_pos").getShape()).as(layers + " layers")
                    .isEqualTo(layers <= 8 ? new Shape(32, 64) : new Shape(64, 32));
            assertThat(converted.get("blocks.0.attn.W_Q").getShape()).as(layers + " layers")
                    .isEqualTo(layers <= 6 ? new Shape(4, 64, 16) : new Shape(4, 16, 64));
        }
    }
}
