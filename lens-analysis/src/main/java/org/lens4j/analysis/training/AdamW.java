package org.lens4j.analysis.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The AdamW optimiser (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", 2019), written
 * as PyTorch's {@code torch.optim.AdamW} computes it: for parameter p with gradient g at step t,
 * <pre>
 * p  = p * (1 - lr * weight_decay)                 (decayed parameters only)
 * m  = beta1 * m + (1 - beta1) * g
 * v  = beta2 * v + (1 - beta2) * g^2
 * p  = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * The updates are in place on the given arrays. The moments live in the optimiser's own manager, freed
 * by {@link #close()}.
 */
public final class AdamW implements AutoCloseable {

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Map<String, NDArray> params;
    private final NDManager manager = NDManager.newBaseManager();
    private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
    private int step;

    /**
     * An optimiser for the given parameters with the options' betas, epsilon and weight decay. Create it
     * outside any {@link NDScope}: its moment arrays must outlive the steps.
     *
     * @param params the parameters by name, which {@link #step} updates in place
     */
    public AdamW(Map<String, NDArray> params, TrainerOptions options) {
        this.beta1 = options.beta1();
        this.beta2 = options.beta2();
        this.eps = options.eps();
        this.weightDecay = options.weightDecay();
        this.params = params;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray p = e.getValue();
            firstMoments.put(e.getKey(), manager.zeros(p.getShape(), p.getDataType()));
            secondMoments.put(e.getKey(), manager.zeros(p.getShape(), p.getDataType()));
        }
    }

    /** Whether a parameter gets weight decay: the weight matrices and embeddings ({@code ...W_*}). */
    public static boolean decays(String name) {
        return name.substring(name.lastIndexOf('.') + 1).startsWith("W_");
    }

    /**
     * One update of every parameter.
     *
     * @param grads the gradients by parameter name, same shapes as the parameters
     * @param lr this step's learning rate
     */
    public void step(Map<String, NDArray> grads, double lr) {
        step++;
        double bias1 = 1 - Math.pow(beta1, step);
        double sqrtBias2 = Math.sqrt(1 - Math.pow(beta2, step));
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            String name = e.getKey();
            NDArray p = e.getValue();
            NDArray g = grads.get(name);
            if (g == null) {
                throw new IllegalArgumentException("AdamW step has no gradient for parameter " + name);
            }
            NDArray m = firstMoments.get(name);
            NDArray v = secondMoments.get(name);
            // The temporaries of the update are freed when the scope closes; m, v and p change in place.
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                if (weightDecay > 0 && decays(name)) {
                    p.muli(1 - lr * weightDecay);
                }
                m.muli(beta1).addi(g.mul(1 - beta1));
                v.muli(beta2).addi(g.square().muli(1 - beta2));
                NDArray denominator = v.sqrt().divi(sqrtBias2).addi(eps);
                p.subi(m.div(denominator).muli(lr / bias1));
            }
        }
    }

    /** The number of updates made so far. */
    public int steps() {
        return step;
    }

    /** Frees the moments. */
    @Override
    public void close() {
        manager.close();
    }
}
