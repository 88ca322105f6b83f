package org.lens4j.analysis.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** AdamW against the update rule of torch.optim.AdamW written out in plain Java doubles. */
class AdamWTest {

    @Test
    void threeStepsMatchTheReferenceFormula() {
        TrainerOptions o = TrainerOptions.builder().lr(0.1).weightDecay(0.5).betas(0.8, 0.9).eps(1e-3).build();
        double[] w = {1.0, -2.0};
        double[] bias = {0.5};
        double[][] gw = {{0.3, -0.1}, {-0.2, 0.4}, {0.05, 0.05}};
        double[][] gb = {{1.0}, {-1.0}, {0.5}};
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("blocks.0.attn.W_Q", m.create(w));
            params.put("blocks.0.attn.b_Q", m.create(bias));
            double[][] refW = {w.clone(), new double[2], new double[2]}; // value, m, v
            double[][] refB = {bias.clone(), new double[1], new double[1]};
            try (AdamW adam = new AdamW(params, o)) {
                for (int t = 1; t <= 3; t++) {
                    Map<String, NDArray> grads = new LinkedHashMap<>();
                    grads.put("blocks.0.attn.W_Q", m.create(gw[t - 1]));
                    grads.put("blocks.0.attn.b_Q", m.create(gb[t - 1]));
                    adam.step(grads, 0.1);
                    reference(refW, gw[t - 1], t, o, true);
                    reference(refB, gb[t - 1], t, o, false);
                }
                assertThat(adam.steps()).isEqualTo(3);
            }
            assertThat(params.get("blocks.0.attn.W_Q").toDoubleArray()).containsExactly(refW[0], offset(1e-12));
            assertThat(params.get("blocks.0.attn.b_Q").toDoubleArray()).containsExactly(refB[0], offset(1e-12));
        }
    }

    /** torch.optim.AdamW.step for one parameter (state = value, exp_avg, exp_avg_sq). */
    private static void reference(double[][] state, double[] g, int t, TrainerOptions o, boolean decays) {
        double lr = o.lr();
        for (int i = 0; i < g.length; i++) {
            if (decays) {
                state[0][i] *= 1 - lr * o.weightDecay();
            }
            state[1][i] = o.beta1() * state[1][i] + (1 - o.beta1()) * g[i];
            state[2][i] = o.beta2() * state[2][i] + (1 - o.beta2()) * g[i] * g[i];
            double denom = Math.sqrt(state[2][i]) / Math.sqrt(1 - Math.pow(o.beta2(), t)) + o.eps();
            state[0][i] -= lr / (1 - Math.pow(o.beta1(), t)) * state[1][i] / denom;
        }
    }

    @Test
    void onlyWeightMatricesAndEmbeddingsDecay() {
        assertThat(AdamW.decays("embed.W_E")).isTrue();
        assertThat(AdamW.decays("blocks.3.attn.W_O")).isTrue();
        assertThat(AdamW.decays("blocks.3.attn.b_O")).isFalse();
        assertThat(AdamW.decays("blocks.0.ln1.w")).isFalse();
    }
}
