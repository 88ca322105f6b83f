package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;

/** The MLP activation functions of TransformerLens ({@code utilities/activation_functions.py}). */
public final class Activations {

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    private Activations() {}

    /**
     * Applies the named activation to {@code x} ({@code [..., d_mlp]}).
     *
     * @param name one of relu, gelu (exact erf), gelu_new / gelu_pytorch_tanh (tanh approximation),
     *     gelu_fast, silu, solu / solu_ln ({@code x * softmax(x)} over the last axis)
     */
    public static NDArray apply(String name, NDArray x) {
        // Constants go through Scalars: a Java number would break gradients (see Scalars).
        return switch (name) {
            case "relu" -> x.getNDArrayInternal().relu();
            // 0.5 x (1 + erf(x / sqrt 2)), as torch.nn.functional.gelu
            case "gelu" -> x.mul(Scalars.of(x, 0.5)).mul(x.div(Scalars.of(x, Math.sqrt(2.0))).erf().add(1));
            // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's gelu
            case "gelu_new", "gelu_pytorch_tanh" -> x.mul(Scalars.of(x, 0.5)).mul(x.pow(Scalars.of(x, 3))
                    .mul(Scalars.of(x, 0.044715)).add(x).mul(Scalars.of(x, SQRT_2_OVER_PI)).tanh().add(1));
            case "gelu_fast" -> x.mul(Scalars.of(x, 0.5)).mul(x.mul(x).mul(Scalars.of(x, 0.044715)).add(1)
                    .mul(x).mul(Scalars.of(x, 0.7978845608)).tanh().add(1));
            case "silu" -> x.mul(x.getNDArrayInternal().sigmoid());
            case "solu", "solu_ln" -> x.mul(x.softmax(-1));
            default -> throw new IllegalArgumentException("unknown activation function '" + name + "'");
        };
    }
}
