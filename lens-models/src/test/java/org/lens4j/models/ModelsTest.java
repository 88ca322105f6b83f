package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.HookedTransformerConfig.PositionalEmbeddingType;

/** The registry against TransformerLens's names, aliases and model table (spec sections 4 and 6). */
class ModelsTest {

    @Test
    void aliasesResolveToTransformerLensOfficialNamesIgnoringCase() {
        Map<String, String> expected = Map.ofEntries(
                Map.entry("gpt2-small", "gpt2"),
                Map.entry("GPT2-Small", "gpt2"),
                Map.entry("gpt2-xl", "gpt2-xl"),
                Map.entry("distil-gpt2", "distilgpt2"),
                Map.entry("gpt2-xs", "distilgpt2"),
                Map.entry("attn-only-2l", "NeelNanda/Attn_Only_2L512W_C4_Code"),
                Map.entry("attn-only-4l-c4-code", "NeelNanda/Attn_Only_4L512W_C4_Code"),
                Map.entry("attn-only-demo", "NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr"),
                Map.entry("attn-only-2l-induction-demo", "NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr"),
                Map.entry("gelu-3l-new", "NeelNanda/GELU_3L512W_C4_Code"),
                Map.entry("solu-2l", "NeelNanda/SoLU_2L512W_C4_Code"),
                Map.entry("solu-12l", "NeelNanda/SoLU_12L1536W_C4_Code"),
                Map.entry("solu-4l-wiki-finetune", "NeelNanda/SoLU_4L512W_Wiki_Finetune"),
                Map.entry("solu-4l-old", "NeelNanda/SoLU_4L_v11_old"),
                Map.entry("solu-10l-pile", "NeelNanda/SoLU_10L_v22_old"),
                Map.entry("neelnanda/solu_1l_v9_old", "NeelNanda/SoLU_1L_v9_old"));
        expected.forEach((alias, official) ->
                assertThat(Models.get(alias).officialName()).as(alias).isEqualTo(official));
    }

    @Test
    void gpt2ConfigsHaveTransformerLensParameterCounts() {
        // n_params as TransformerLens computes it (spec 4.2 table).
        Map<String, Long> nParams = Map.of("gpt2", 84_934_656L, "gpt2-medium", 301_989_888L,
                "gpt2-large", 707_788_800L, "gpt2-xl", 1_474_560_000L, "distilgpt2", 42_467_328L);
        nParams.forEach((name, n) -> {
            HookedTransformerConfig cfg = Models.get(name).config();
            assertThat(cfg.nParams()).as(name).isEqualTo(n);
            assertThat(cfg.actFn()).isEqualTo("gelu_new");
            assertThat(cfg.attnScale()).isEqualTo(8.0);
            assertThat(cfg.dVocab()).isEqualTo(50257);
            assertThat(cfg.originalArchitecture()).isEqualTo("GPT2LMHeadModel");
        });
        assertThat(Models.get("gpt2").tokenizerRepo()).isEqualTo("gpt2");
        assertThat(Models.get("gpt2").files()).containsExactly("config.json", "model.safetensors");
    }

    @Test
    void neelModelsHaveTheirArchitectureAndTokenizer() {
        ModelInfo demo = Models.get("attn-only-demo");
        assertThat(demo.config().normalizationType()).isEqualTo(NormalizationType.NONE);
        assertThat(demo.config().positionalEmbeddingType()).isEqualTo(PositionalEmbeddingType.SHORTFORMER);
        assertThat(demo.config().dVocab()).isEqualTo(50277);
        assertThat(demo.tokenizerRepo()).isEqualTo("EleutherAI/gpt-neox-20b");

        ModelInfo gelu = Models.get("gelu-2l");
        assertThat(gelu.config().actFn()).as("exact erf GELU, not gelu_new").isEqualTo("gelu");
        assertThat(gelu.config().dVocab()).isEqualTo(48262);
        assertThat(gelu.tokenizerRepo()).isEqualTo("NeelNanda/gpt-neox-tokenizer-digits");
        assertThat(gelu.files()).containsExactly("config.json", "*final.pth");

        ModelInfo solu2lOld = Models.get("solu-2l-old");
        assertThat(solu2lOld.weightFormat()).isEqualTo(WeightFormat.NEEL_SOLU_OLD);
        assertThat(solu2lOld.config().normalizationType()).isEqualTo(NormalizationType.LN_PRE);
        assertThat(solu2lOld.config().finalRms()).isTrue();
        assertThat(solu2lOld.config().dModel()).isEqualTo(736);
        assertThat(solu2lOld.config().nHeads()).isEqualTo(11);
        assertThat(Models.get("solu-8l-old").config().finalRms()).isFalse();
        assertThat(Models.get("solu-2l").weightFormat()).isEqualTo(WeightFormat.TRANSFORMER_LENS);
        assertThat(Models.get("attn-only-3l").config().attnOnly()).isTrue();
    }

    @Test
    void everyModelIsListedOnceWithUniqueNames() {
        List<ModelInfo> all = Models.list();
        assertThat(all).hasSize(5 + 5 + 4 + 8 + 2 + 7);
        Set<String> names = new HashSet<>();
        for (ModelInfo m : all) {
            assertThat(names.add(m.officialName().toLowerCase())).as(m.officialName()).isTrue();
            for (String alias : m.aliases()) {
                assertThat(names.add(alias.toLowerCase())).as(alias).isTrue();
            }
            assertThat(m.files().get(0)).isEqualTo("config.json");
            assertThat(Models.get(m.officialName())).isSameAs(m);
        }
    }

    @Test
    void anUnknownNameSuggestsTheClosestOnes() {
        assertThatThrownBy(() -> Models.get("gpt2-smal"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown model 'gpt2-smal'")
                .hasMessageContaining("gpt2-small");
        assertThatThrownBy(() -> Models.get("solu-3"))
                .hasMessageContaining("solu-3l");
        assertThat(Models.find("pythia-70m")).isEmpty();
    }
}
