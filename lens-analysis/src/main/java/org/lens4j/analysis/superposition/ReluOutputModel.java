package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import java.util.Map;

/**
 * The ReLU-output toy model of Elhage et al. 2022: {@code h = W x}, {@code x' = ReLU(Wᵀ h + b)},
 * with {@code W [instances, d_hidden, features]} and {@code b_final [instances, features]}.
 */
public class ReluOutputModel extends ToyModel {
    private final NDArray w;

    ReluOutputModel(ToyModelConfig config, Map<String, float[]> weights) {
        super(config, weights);
        this.w = parameter("W");
    }

    @Override
    public NDArray W() {
        return w;
    }

    @Override
    public NDArray forward(NDArray features) {
        checkFeatures(features);
        NDManager m = features.getManager();
        // Batch last: PyTorch's batched matmul is fastest with the long axis innermost.
        NDArray x = features.transpose(1, 2, 0);                        // [inst, feat, batch]
        NDArray h = hiddenActivation(on(m, w.matMul(x)));               // [inst, hidden, batch]
        NDArray wT = on(m, w.transpose(0, 2, 1));                       // [inst, feat, hidden]
        NDArray out = wT.matMul(h).transpose(2, 0, 1).add(bFinal());    // [batch, inst, feat]
        return Activation.relu(out);
    }

    /**
     * Applied to the hidden activations {@code h [instances, d_hidden, batch]}: the identity
     * here, a ReLU in {@link HiddenReluModel}.
     */
    protected NDArray hiddenActivation(NDArray h) {
        return h;
    }
}
