package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.lens4j.core.testing.Fixtures;

/** TransformerLens config JSON in and out, defaults, derived values and rejected values. */
class HookedTransformerConfigTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l/model", "gpt2_style_2l/processed", "attn_only_2l_shortformer/model",
        "solu_ln_1l/model", "hf_gpt2_tiny/converted"})
    void transformerLensConfigsRoundTripUnchanged(String dir) throws IOException {
        String[] parts = dir.split("/");
        String original = Files.readString(Fixtures.path(parts[0], parts[1] + "/config.json"));
        HookedTransformerConfig cfg = HookedTransformerConfig.fromJson(original);
        JsonObject expected = JsonParser.parseString(original).getAsJsonObject();
        JsonObject written = JsonParser.parseString(cfg.toJson()).getAsJsonObject();
        expected.remove("tokenizer_prepends_bos");
        written.remove("tokenizer_prepends_bos");
        assertThat(written).isEqualTo(expected);
    }

    @Test
    void derivedValuesFollowTransformerLens() {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(12).dModel(768).dHead(64).nCtx(1024)
                .dVocab(50257).actFn("gelu_new").build();
        assertThat(cfg.nHeads()).isEqualTo(12);
        assertThat(cfg.dMlp()).isEqualTo(3072);
        assertThat(cfg.dVocabOut()).isEqualTo(50257);
        assertThat(cfg.attnScale()).isEqualTo(8.0);
        assertThat(cfg.initializerRange()).isEqualTo(0.8 / Math.sqrt(768));
        assertThat(cfg.nParams()).isEqualTo(84_934_656L);
        assertThat(cfg.normalizationType()).isEqualTo(HookedTransformerConfig.NormalizationType.LN);
        assertThat(cfg.defaultPrependBos()).isTrue();
        assertThat(cfg.dtype()).isEqualTo(DataType.FLOAT32);
        HookedTransformerConfig attnOnly = cfg.toBuilder().attnOnly(true).dMlp(null).build();
        assertThat(attnOnly.dMlp()).isZero();
        assertThat(cfg.toBuilder().scaleAttnByInverseLayerIdx(true).build().attnScaleForLayer(2)).isEqualTo(24.0);
    }

    @Test
    void unknownOrUnsupportedValuesAreRejectedByKey() {
        String base = "\"n_layers\": 1, \"d_model\": 8, \"d_head\": 4, \"n_ctx\": 4, \"d_vocab\": 5, \"act_fn\": \"relu\"";
        assertThat(HookedTransformerConfig.fromJson("{" + base + "}").nHeads()).isEqualTo(2);
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base + ", \"n_layer\": 3}"))
                .hasMessageContaining("'n_layer' is not a TransformerLens");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base + ", \"gated_mlp\": true}"))
                .hasMessageContaining("gated_mlp");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base
                + ", \"positional_embedding_type\": \"rotary\"}")).hasMessageContaining("rotary");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base.replace("relu", "swish") + "}"))
                .hasMessageContaining("act_fn").hasMessageContaining("swish");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base + ", \"d_model\": 6}"))
                .hasMessageContaining("n_heads");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base + ", \"normalization_type\": \"BN\"}"))
                .hasMessageContaining("normalization_type 'BN'");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base + ", \"dtype\": \"bfloat16\"}"))
                .hasMessageContaining("dtype");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{\"d_model\": 8}"))
                .hasMessageContaining("n_layers");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("[1, 2]")).hasMessageContaining("object");
        assertThatThrownBy(() -> HookedTransformerConfig.fromJson("{" + base + ", \"use_attn_in\": true, "
                + "\"use_split_qkv_input\": true}")).hasMessageContaining("cannot both");
    }
}
