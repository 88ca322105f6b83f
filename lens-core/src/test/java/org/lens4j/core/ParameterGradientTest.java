package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.Collections;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.testing.Fixtures;

/**
 * Gradients of the loss with respect to the model's own parameter arrays (what a training loop uses),
 * checked against central finite differences in float64. A garbage collection runs between the forward
 * and the backward pass, as it may in any program: the gradients must not depend on it.
 */
class ParameterGradientTest {

    private static final double STEP = 1e-6;

    @Test
    void fixtureModelGetsTheFiniteDifferenceGradientOfEveryWeightMatrix() {
        try (NDManager m = NDManager.newBaseManager()) {
            String name = "gpt2_style_2l";
            HookedTransformerConfig cfg = Fixtures.config(name, "model/config.json").toBuilder()
                    .dtype(DataType.FLOAT64).build();
            NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", m).get("tokens");
            try (HookedTransformer model = HookedTransformer.fromStateDict(cfg,
                    Fixtures.tensors(name, "model/weights.safetensors", m))) {
                assertGradientsMatchFiniteDifferences(model, tokens);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"relu", "gelu", "gelu_new", "gelu_fast", "silu", "solu_ln"})
    void everyActivationFunctionGetsTheFiniteDifferenceGradient(String actFn) {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(1).dModel(16).nCtx(8).dHead(4)
                .nHeads(4).dMlp(32).dVocab(11).actFn(actFn).dtype(DataType.FLOAT64).seed(5L).build();
        try (NDManager m = NDManager.newBaseManager(); HookedTransformer model = HookedTransformer.init(cfg)) {
            NDArray tokens = m.create(new long[][] {{0, 3, 7, 1, 3, 7, 1, 9}, {0, 2, 2, 5, 10, 4, 6, 8}});
            assertGradientsMatchFiniteDifferences(model, tokens);
        }
    }

    private static void assertGradientsMatchFiniteDifferences(HookedTransformer model, NDArray tokens) {
        for (NDArray p : model.stateDict().values()) {
            p.setRequiresGradient(true);
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = model.loss(tokens);
            collectGarbage(tokens.getManager());
            gc.backward(loss);
        }
        for (Map.Entry<String, NDArray> e : model.stateDict().entrySet()) {
            if (!e.getKey().contains(".W_")) {
                continue;
            }
            NDArray p = e.getValue();
            String index = String.join(",", Collections.nCopies(p.getShape().dimension(), "0"));
            NDIndex at = new NDIndex(index);
            double analytic = p.getGradient().get(at).getDouble();
            double numeric = finiteDifference(model, tokens, p, at);
            assertThat(analytic).as("dL/d" + e.getKey() + "[" + index + "]").isCloseTo(numeric, offset(1e-7));
            assertThat(p.getGradient().abs().sum().getDouble()).as("|grad| of " + e.getKey()).isPositive();
        }
    }

    /** Frees unreachable Java buffers and reuses their memory with other values. */
    private static void collectGarbage(NDManager m) {
        System.gc();
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (int i = 0; i < 100; i++) {
            m.create(new double[] {1e30, 1e30}).close();
        }
    }

    private static double finiteDifference(HookedTransformer model, NDArray tokens, NDArray p, NDIndex at) {
        double original = p.get(at).getDouble();
        p.set(at, original + STEP);
        double up = model.loss(tokens).getDouble();
        p.set(at, original - STEP);
        double down = model.loss(tokens).getDouble();
        p.set(at, original);
        return (up - down) / (2 * STEP);
    }
}
