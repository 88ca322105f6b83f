package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import java.util.Map;

/**
 * The computation-in-superposition model of Elhage et al. 2022: it learns {@code y = abs(x)} for
 * features {@code x} in [-1, 1] with {@code h = ReLU(W1 x)}, {@code y = ReLU(W2 h + b)}, where
 * {@code W1 [instances, d_hidden, features]}, {@code W2 [instances, features, d_hidden]} and
 * {@code b_final [instances, features]}. One exact solution is an antipodal pair of neurons per
 * feature, {@code abs(x) = ReLU(x) + ReLU(-x)}.
 */
public final class NeuronComputationModel extends ToyModel {
    private final NDArray w1;
    private final NDArray w2;

    NeuronComputationModel(ToyModelConfig config, Map<String, float[]> weights) {
        super(config, weights);
        this.w1 = parameter("W1");
        this.w2 = parameter("W2");
    }

    /** The input weights {@code W1 [instances, d_hidden, features]}. */
    public NDArray W1() {
        return w1;
    }

    /** The output weights {@code W2 [instances, features, d_hidden]}. */
    public NDArray W2() {
        return w2;
    }

    /** The input weights {@code W1 [instances, d_hidden, features]}. */
    @Override
    public NDArray W() {
        return w1;
    }

    @Override
    public NDArray forward(NDArray features) {
        checkFeatures(features);
        NDManager m = features.getManager();
        NDArray x = features.transpose(1, 2, 0);                          // [inst, feat, batch]
        NDArray h = Activation.relu(on(m, w1.matMul(x)));                 // [inst, hidden, batch]
        NDArray out = on(m, w2.matMul(h)).transpose(2, 0, 1).add(bFinal()); // [batch, inst, feat]
        return Activation.relu(out);
    }

    /** The absolute values of the features, {@code [batch, instances, features]}. */
    @Override
    public NDArray target(NDArray features) {
        return features.abs();
    }
}
