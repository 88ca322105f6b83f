package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.testing.Fixtures;

/** The model's {@code OV}, {@code QK} and {@code allCompositionScores} against TransformerLens 2.12. */
class HookedTransformerCircuitsTest {

    private static final double ATOL = 1e-5;

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private HookedTransformer load(String name) {
        return HookedTransformer.fromStateDict(Fixtures.config(name, "model/config.json"),
                Fixtures.tensors(name, "model/weights.safetensors", manager));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void ovAndQkMatchTransformerLens(String name) {
        Map<String, NDArray> expected = Fixtures.tensors(name, "analysis.safetensors", manager);
        try (HookedTransformer model = load(name); NDManager m = manager.newSubManager()) {
            FactoredMatrix ov = model.OV(m);
            FactoredMatrix qk = model.QK(m);
            assertClose("OV.AB", ov.ab(), expected.get("factored.OV.AB"), ATOL);
            assertClose("QK.AB", qk.ab(), expected.get("factored.QK.AB"), ATOL);
            assertClose("OV.S", ov.s(), expected.get("factored.OV.S"), ATOL);
            assertClose("QK.norm", qk.norm(), expected.get("factored.QK.norm"), ATOL);
        }
    }

    @Test
    void circuitsOwnTheirStackedWeights() {
        try (HookedTransformer model = load("gpt2_style_2l"); NDManager m = manager.newSubManager()) {
            FactoredMatrix ov = model.OV(m);
            FactoredMatrix qk = model.QK(m);
            assertThat(m.getManagedArrays()).isNotEmpty();
            ov.norm();
            qk.s();
            ov.close();
            qk.close();
            assertThat(m.getManagedArrays()).isEmpty();
            int weights = model.manager().getManagedArrays().size();
            model.allCompositionScores(CompositionScores.Mode.V, m).close();
            assertThat(m.getManagedArrays()).isEmpty();
            assertThat(model.manager().getManagedArrays()).hasSize(weights);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void allCompositionScoresMatchTransformerLens(String name) {
        Map<String, NDArray> expected = Fixtures.tensors(name, "analysis.safetensors", manager);
        try (HookedTransformer model = load(name)) {
            for (CompositionScores.Mode mode : CompositionScores.Mode.values()) {
                assertClose(mode + "-composition", model.allCompositionScores(mode, manager),
                        expected.get("composition_scores." + mode), ATOL);
            }
        }
    }
}
