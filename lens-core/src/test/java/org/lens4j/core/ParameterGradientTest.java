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
import org.lens4j.core.testing.Fixtures;

/**
 * Gradients of the loss with respect to the model's own parameter arrays (what a training loop uses),
 * checked against central finite differences in float64.
 */
class ParameterGradientTest {

    private static final double STEP = 1e-6;

    @Test
    void everyWeightMatrixGetsTheFiniteDifferenceGradient() {
        try (NDManager m = NDManager.newBaseManager()) {
            String name = "gpt2_style_2l";
            HookedTransformerConfig cfg = Fixtures.config(name, "model/config.json").toBuilder()
                    .dtype(DataType.FLOAT64).build();
            NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", m).get("tokens");
            try (HookedTransformer model = HookedTransformer.fromStateDict(cfg,
                    Fixtures.tensors(name, "model/weights.safetensors", m))) {
                for (NDArray p : model.stateDict().values()) {
                    p.setRequiresGradient(true);
                }
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    gc.backward(model.loss(tokens));
                }
                for (Map.Entry<String, NDArray> e : model.stateDict().entrySet()) {
                    if (!e.getKey().contains(".W_")) {
                        continue;
                    }
                    NDArray p = e.getValue();
                    String index = String.join(",", Collections.nCopies(p.getShape().dimension(), "0"));
                    NDIndex at = new NDIndex(index);
                    double analytic = p.getGradient().get(at).toType(DataType.FLOAT64, false).getDouble();
                    double numeric = finiteDifference(model, tokens, p, at);
                    assertThat(analytic).as("dL/d" + e.getKey() + "[" + index + "]")
                            .isCloseTo(numeric, offset(1e-7));
                    assertThat(p.getGradient().abs().sum().getDouble()).as("|grad| of " + e.getKey()).isPositive();
                }
            }
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
