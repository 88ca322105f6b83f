package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.testing.Fixtures;

/** The GPT-2 converter against TransformerLens's own {@code convert_gpt2_weights} output, bit for bit. */
class Gpt2ConverterTest {

    private static final String FIXTURE = "hf_gpt2_tiny";

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static JsonObject hfConfig() {
        return JsonParser.parseString(TestModels.fixtureText(FIXTURE, "model/config.json")).getAsJsonObject();
    }

    private static HookedTransformerConfig cfg() {
        return Gpt2Converter.config(hfConfig(), "gpt2");
    }

    private Map<String, NDArray> hfWeights() {
        return new LinkedHashMap<>(Fixtures.tensors(FIXTURE, "model/model.safetensors", manager));
    }

    @Test
    void configEqualsTransformerLensConvertHfModelConfig() {
        // TransformerLens loaded this fixture as "gpt2"; tokenizer_prepends_bos is set later, by its tokenizer.
        // Every key lens4j models must have TransformerLens's value (the rest are features lens4j leaves out).
        JsonObject expected = JsonParser.parseString(TestModels.fixtureText(FIXTURE, "converted/config.json"))
                .getAsJsonObject();
        JsonObject actual = JsonParser.parseString(cfg().toJson()).getAsJsonObject();
        actual.remove("tokenizer_prepends_bos");
        assertThat(actual.keySet()).hasSizeGreaterThan(40);
        for (String key : actual.keySet()) {
            assertThat(actual.get(key)).as(key).isEqualTo(expected.get(key));
        }
    }

    @Test
    void weightsEqualTransformerLensConvertGpt2WeightsExactly() {
        Map<String, NDArray> expected = Fixtures.tensors(FIXTURE, "converted/weights.safetensors", manager);

        LinkedHashMap<String, NDArray> converted = Gpt2Converter.convert(hfWeights(), cfg());

        assertThat(converted.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        for (Map.Entry<String, NDArray> e : expected.entrySet()) {
            NDArray actual = converted.get(e.getKey());
            assertThat(actual.getShape()).as(e.getKey()).isEqualTo(e.getValue().getShape());
            assertThat(actual.toFloatArray()).as(e.getKey()).containsExactly(e.getValue().toFloatArray());
        }
    }

    @Test
    void keysWithoutTheTransformerPrefixConvertTheSame() {
        // The original gpt2 model.safetensors has "wte.weight", "h.0.attn.c_attn.weight", ... and mask buffers.
        Map<String, NDArray> bare = new LinkedHashMap<>();
        hfWeights().forEach((k, v) -> bare.put(k.substring("transformer.".length()), v));
        bare.put("h.0.attn.bias", manager.ones(new ai.djl.ndarray.types.Shape(1, 1, 32, 32)));
        bare.put("h.1.attn.masked_bias", manager.create(-1e4f));

        LinkedHashMap<String, NDArray> converted = Gpt2Converter.convert(bare, cfg());

        Map<String, NDArray> expected = Fixtures.tensors(FIXTURE, "converted/weights.safetensors", manager);
        assertThat(converted.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        assertThat(converted.get("blocks.1.attn.W_V").toFloatArray())
                .containsExactly(expected.get("blocks.1.attn.W_V").toFloatArray());
    }

    @Test
    void anUntiedLmHeadBecomesTheUnembedding() {
        Map<String, NDArray> hf = hfWeights();
        NDArray lmHead = manager.randomNormal(hf.get("transformer.wte.weight").getShape());
        float[] expected = lmHead.transpose().toFloatArray();
        hf.put("lm_head.weight", lmHead);

        LinkedHashMap<String, NDArray> converted = Gpt2Converter.convert(hf, cfg());

        assertThat(converted.get("unembed.W_U").toFloatArray()).containsExactly(expected);
    }

    @Test
    void theUnembeddingDoesNotShareStorageWithTheEmbedding() {
        LinkedHashMap<String, NDArray> converted = Gpt2Converter.convert(hfWeights(), cfg());
        float[] before = converted.get("unembed.W_U").toFloatArray();

        converted.get("embed.W_E").set(new ai.djl.ndarray.index.NDIndex("0, 0"), 123f);

        assertThat(converted.get("unembed.W_U").toFloatArray()).containsExactly(before);
    }

    @Test
    void aMissingTensorIsNamed() {
        Map<String, NDArray> hf = hfWeights();
        hf.remove("transformer.h.1.mlp.c_fc.bias");

        assertThatThrownBy(() -> Gpt2Converter.convert(hf, cfg()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'h.1.mlp.c_fc.bias'");
    }

    @Test
    void aWrongShapeIsNamed() {
        Map<String, NDArray> hf = hfWeights();
        hf.put("transformer.h.0.attn.c_attn.weight", manager.zeros(new ai.djl.ndarray.types.Shape(64, 191)));

        assertThatThrownBy(() -> Gpt2Converter.convert(hf, cfg()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'h.0.attn.c_attn.weight' has shape (64, 191)")
                .hasMessageContaining("(64, 192)");
    }

    @Test
    void anUnexpectedTensorIsNamed() {
        Map<String, NDArray> hf = hfWeights();
        hf.put("transformer.h.2.ln_1.weight", manager.ones(new ai.djl.ndarray.types.Shape(64)));

        assertThatThrownBy(() -> Gpt2Converter.convert(hf, cfg()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[h.2.ln_1.weight]")
                .hasMessageContaining("2 layers");
    }

    @Test
    void otherArchitecturesAreRefusedByName() {
        JsonObject neo = hfConfig();
        neo.remove("architectures");
        neo.addProperty("model_type", "gpt_neo");

        assertThatThrownBy(() -> Gpt2Converter.config(neo, "EleutherAI/gpt-neo-125M"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpt_neo")
                .hasMessageContaining("GPT2LMHeadModel");
    }

    @Test
    void aMissingConfigKeyIsNamed() {
        JsonObject hf = hfConfig();
        hf.remove("n_layer");

        assertThatThrownBy(() -> Gpt2Converter.config(hf, "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'n_layer'");
    }

    @Test
    void unscaledAttentionIsRefused() {
        JsonObject hf = hfConfig();
        hf.addProperty("scale_attn_weights", false);

        assertThatThrownBy(() -> Gpt2Converter.config(hf, "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scale_attn_weights");
    }

    @Test
    void nPositionsStandsInForAMissingNCtxAndNInnerSetsTheMlpWidth() {
        JsonObject hf = hfConfig();
        hf.remove("n_ctx");
        hf.addProperty("n_positions", 24);
        hf.addProperty("n_inner", 128);

        HookedTransformerConfig cfg = Gpt2Converter.config(hf, "org/my-gpt2");

        assertThat(cfg.nCtx()).isEqualTo(24);
        assertThat(cfg.dMlp()).isEqualTo(128);
        assertThat(cfg.modelName()).isEqualTo("my-gpt2");
        assertThat(cfg.tokenizerName()).isEqualTo("org/my-gpt2");
    }
}
