package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.testing.Fixtures;

/** Logits, losses and every cached activation against TransformerLens 2.12 on the seeded fixture models. */
class FixtureParityTest {

    private static final double F32_ATOL = 1e-5;
    private static final double F64_ATOL = 1e-9;

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private HookedTransformer load(String model, String dir, DataType dtype) {
        HookedTransformerConfig cfg = Fixtures.config(model, dir + "/config.json").toBuilder().dtype(dtype).build();
        return HookedTransformer.fromStateDict(cfg, Fixtures.tensors(model, dir + "/weights.safetensors", manager));
    }

    private static List<String> cacheNames(Map<String, NDArray> outputs) {
        List<String> names = new ArrayList<>();
        for (String k : outputs.keySet()) {
            if (k.startsWith("cache.")) {
                names.add(k.substring("cache.".length()));
            }
        }
        return names;
    }

    private void assertOutputsMatch(HookedTransformer model, Map<String, NDArray> expected, NDArray tokens,
            double atol) {
        try (CachedRun run = model.runWithCache(tokens)) {
            assertClose("logits", run.logits(), expected.get("logits"), atol);
            assertThat(run.cache().keys()).isEqualTo(cacheNames(expected));
            for (String name : run.cache().keys()) {
                assertClose(name, run.cache().get(name), expected.get("cache." + name), atol);
            }
        }
        assertClose("loss", model.loss(tokens), expected.get("loss"), atol);
        assertClose("loss_per_token", model.lossPerToken(tokens), expected.get("loss_per_token"), atol);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void float32MatchesTransformerLens(String name) {
        NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
        try (HookedTransformer model = load(name, "model", DataType.FLOAT32)) {
            assertOutputsMatch(model, Fixtures.tensors(name, "outputs.safetensors", manager), tokens, F32_ATOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l", "hf_gpt2_tiny"})
    void float64MatchesTransformerLens(String name) {
        String dir = name.equals("hf_gpt2_tiny") ? "converted" : "model";
        NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
        try (HookedTransformer model = load(name, dir, DataType.FLOAT64)) {
            assertOutputsMatch(model, Fixtures.tensors(name, "outputs_f64.safetensors", manager), tokens, F64_ATOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void perHeadResultsMatchTransformerLens(String name) {
        NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
        Map<String, NDArray> expected = Fixtures.tensors(name, "outputs.safetensors", manager);
        try (HookedTransformer model = load(name, "model", DataType.FLOAT32)) {
            model.setUseAttnResult(true);
            try (CachedRun run = model.runWithCache(tokens, CacheOptions.filter(n -> n.endsWith("hook_result")))) {
                assertThat(run.cache().keys()).hasSize(model.config().nLayers());
                for (String hook : run.cache().keys()) {
                    assertClose(hook, run.cache().get(hook), expected.get("cache_use_attn_result." + hook), F32_ATOL);
                }
                assertClose("logits with use_attn_result", run.logits(), expected.get("logits"), F32_ATOL);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l", "hf_gpt2_tiny"})
    void processedModelMatchesTransformerLens(String name) {
        String dir = name.equals("hf_gpt2_tiny") ? "converted" : "model";
        HookedTransformerConfig raw = Fixtures.config(name, dir + "/config.json");
        WeightProcessing.Result processed = WeightProcessing.process(raw,
                Fixtures.tensors(name, dir + "/weights.safetensors", manager), ProcessingOptions.DEFAULT);

        HookedTransformerConfig expectedCfg = Fixtures.config(name, "processed/config.json");
        assertThat(processed.config().normalizationType()).isEqualTo(expectedCfg.normalizationType());
        Map<String, NDArray> expectedWeights = Fixtures.tensors(name, "processed/weights.safetensors", manager);
        assertThat(processed.stateDict().keySet()).containsAll(expectedWeights.keySet());
        for (Map.Entry<String, NDArray> e : expectedWeights.entrySet()) {
            assertClose(e.getKey(), processed.stateDict().get(e.getKey()), e.getValue(), F32_ATOL);
        }
        NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
        try (HookedTransformer model = HookedTransformer.fromStateDict(processed.config(), processed.stateDict())) {
            assertOutputsMatch(model, Fixtures.tensors(name, "processed/outputs.safetensors", manager), tokens,
                    F32_ATOL);
        }
    }
}
