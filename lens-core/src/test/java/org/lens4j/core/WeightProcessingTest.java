package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.testing.Fixtures;

/** Processing steps without a TransformerLens fixture, checked by the invariants they must keep. */
class WeightProcessingTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private Map<String, NDArray> weights64(String name) {
        Map<String, NDArray> w = Fixtures.tensors(name, "model/weights.safetensors", manager);
        w.replaceAll((k, v) -> v.toType(DataType.FLOAT64, false));
        return w;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void refactoringFactoredAttentionKeepsOutputsAndCircuits(String name) {
        HookedTransformerConfig cfg = Fixtures.config(name, "model/config.json").toBuilder().dtype(DataType.FLOAT64).build();
        NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
        WeightProcessing.Result plain = WeightProcessing.process(cfg, weights64(name), ProcessingOptions.DEFAULT);
        WeightProcessing.Result refactored = WeightProcessing.process(cfg, weights64(name),
                ProcessingOptions.DEFAULT.withRefactorFactoredAttnMatrices(true));
        assertThat(refactored.stepsApplied()).endsWith("refactor_factored_attn_matrices");
        for (int l = 0; l < cfg.nLayers(); l++) {
            String p = "blocks." + l + ".attn.";
            assertClose("OV " + l, product(refactored.stateDict(), p + "W_V", p + "W_O"),
                    product(plain.stateDict(), p + "W_V", p + "W_O"), 1e-10);
            assertClose("QK " + l, qkWithBias(refactored.stateDict(), p), qkWithBias(plain.stateDict(), p), 1e-10);
            NDArray wO = refactored.stateDict().get(p + "W_O");
            NDArray gram = wO.matMul(wO.transpose(0, 2, 1));
            assertClose("W_O rows orthonormal " + l, gram, manager.eye((int) gram.getShape().get(1))
                    .toType(DataType.FLOAT64, false).broadcast(gram.getShape()), 1e-10);
        }
        try (HookedTransformer a = HookedTransformer.fromStateDict(plain.config(), plain.stateDict());
             HookedTransformer b = HookedTransformer.fromStateDict(refactored.config(), refactored.stateDict())) {
            assertClose("logits", b.forward(tokens), a.forward(tokens), 1e-9);
        }
    }

    private static NDArray product(Map<String, NDArray> sd, String left, String right) {
        return sd.get(left).matMul(sd.get(right));
    }

    /** {@code [W_Q; b_Q] [W_K; b_K]^T} per head: the full bilinear score form with biases. */
    private static NDArray qkWithBias(Map<String, NDArray> sd, String p) {
        NDArray q = sd.get(p + "W_Q").concat(sd.get(p + "b_Q").expandDims(1), 1);
        NDArray k = sd.get(p + "W_K").concat(sd.get(p + "b_K").expandDims(1), 1);
        return q.matMul(k.transpose(0, 2, 1));
    }
}
