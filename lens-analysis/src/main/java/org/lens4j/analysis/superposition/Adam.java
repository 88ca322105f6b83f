package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The Adam optimiser (Kingma and Ba 2015) with PyTorch's update rule, for arrays that have
 * {@link NDArray#setRequiresGradient(boolean) a gradient attached}:
 *
 * <pre>
 * m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g²
 * p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * <p>The moment estimates live in the optimiser's own {@link NDManager}; close the optimiser to
 * release them.
 */
public final class Adam implements AutoCloseable {
    private final List<NDArray> parameters;
    private final List<NDArray> firstMoments = new ArrayList<>();
    private final List<NDArray> secondMoments = new ArrayList<>();
    private final NDManager manager = NDManager.newBaseManager();
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private int steps;

    /** Adam with PyTorch's defaults: betas (0.9, 0.999), epsilon 1e-8. */
    public Adam(Collection<NDArray> parameters) {
        this(parameters, 0.9, 0.999, 1e-8);
    }

    /**
     * Adam with the given hyper-parameters.
     *
     * @param parameters the arrays to update in place; each must have a gradient attached
     */
    public Adam(Collection<NDArray> parameters, double beta1, double beta2, double epsilon) {
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && epsilon > 0)) {
            manager.close();
            throw new IllegalArgumentException("Adam needs 0 <= beta1, beta2 < 1 and epsilon > 0,"
                    + " got beta1=" + beta1 + ", beta2=" + beta2 + ", epsilon=" + epsilon);
        }
        this.parameters = List.copyOf(parameters);
        for (NDArray p : this.parameters) {
            if (!p.hasGradient()) {
                manager.close();
                throw new IllegalArgumentException("parameter " + p.getName() + " " + p.getShape()
                        + " has no gradient attached; call setRequiresGradient(true)");
            }
            NDArray m = manager.zeros(p.getShape(), p.getDataType());
            NDArray v = manager.zeros(p.getShape(), p.getDataType());
            // The state must outlive any NDScope the optimiser is created in.
            NDScope.unregister(m, v);
            firstMoments.add(m);
            secondMoments.add(v);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
    }

    /**
     * Updates every parameter from its current gradient, then sets the gradients to zero for the
     * next backward pass.
     *
     * @param learningRate the step size of this step
     */
    @SuppressWarnings("try") // the scope frees the temporaries by being open
    public void step(double learningRate) {
        steps++;
        double correction1 = 1 - Math.pow(beta1, steps);
        double sqrtCorrection2 = Math.sqrt(1 - Math.pow(beta2, steps));
        try (NDScope scope = new NDScope()) {
            for (int k = 0; k < parameters.size(); k++) {
                NDArray p = parameters.get(k);
                NDArray g = p.getGradient();
                NDArray m = firstMoments.get(k).muli(beta1).addi(g.mul(1 - beta1));
                NDArray v = secondMoments.get(k).muli(beta2).addi(g.square().muli(1 - beta2));
                NDArray denominator = v.sqrt().divi(sqrtCorrection2).addi(epsilon);
                // Update through a detached view: an in-place change of a leaf that requires a
                // gradient is refused while autograd is recording.
                p.stopGradient().subi(m.div(denominator).muli(learningRate / correction1));
                g.subi(g);
            }
        }
    }

    /** Number of steps taken so far. */
    public int stepCount() {
        return steps;
    }

    /** Releases the moment estimates. */
    @Override
    public void close() {
        manager.close();
    }
}
