package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import java.util.Map;

/**
 * The ReLU-output model with a ReLU on the hidden layer, {@code h = ReLU(W x)}, {@code x' =
 * ReLU(Wᵀ h + b)}: the hidden units become neurons with a privileged basis, so one can ask which
 * features each neuron responds to.
 */
public final class HiddenReluModel extends ReluOutputModel {
    HiddenReluModel(ToyModelConfig config, Map<String, float[]> weights) {
        super(config, weights);
    }

    @Override
    protected NDArray hiddenActivation(NDArray h) {
        return Activation.relu(h);
    }
}
