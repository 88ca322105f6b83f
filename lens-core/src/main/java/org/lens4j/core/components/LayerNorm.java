package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;
import org.lens4j.core.HookPoint;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;

/**
 * The normalisation components of TransformerLens: {@code LayerNorm} (LN), {@code LayerNormPre}
 * (LNPre), {@code RMSNorm} (RMS) and {@code RMSNormPre} (RMSPre), over the last axis.
 *
 * <p>LN: {@code xc = x - mean(x)}, {@code scale = hook_scale(sqrt(mean(xc^2) + eps))}, {@code out =
 * hook_normalized(xc / scale * w + b)} (TransformerLens 2.x fires {@code hook_normalized} after the
 * weight and bias). LNPre drops w and b. RMS: {@code scale = sqrt(mean(x^2) + eps)}, {@code out =
 * hook_normalized(x / scale) * w}; RMSPre drops w.
 */
public final class LayerNorm {

    private final NormalizationType type;
    private final double eps;
    private final NDArray w;
    private final NDArray b;
    private final HookPoint hookScale;
    private final HookPoint hookNormalized;

    /**
     * @param type LN, LNPre, RMS or RMSPre
     * @param w weight {@code [length]} (LN, RMS), else null
     * @param b bias {@code [length]} (LN), else null
     */
    public LayerNorm(NormalizationType type, double eps, NDArray w, NDArray b, HookPoint hookScale,
            HookPoint hookNormalized) {
        if (type == NormalizationType.NONE) {
            throw new IllegalArgumentException("a LayerNorm component needs a normalization type");
        }
        this.type = type;
        this.eps = eps;
        this.w = w;
        this.b = b;
        this.hookScale = hookScale;
        this.hookNormalized = hookNormalized;
    }

    /**
     * @param x {@code [..., length]}
     * @return the normalised activation {@code [..., length]}
     */
    public NDArray forward(NDArray x) {
        NDArray centred = type.isLayerNorm() ? x.sub(x.mean(new int[] {-1}, true)) : x;
        NDArray scale = hookScale.fire(centred.square().mean(new int[] {-1}, true).add(eps).sqrt());
        NDArray normalized = centred.div(scale);
        return switch (type) {
            case LN -> hookNormalized.fire(normalized.mul(w).add(b));
            case LN_PRE, RMS_PRE -> hookNormalized.fire(normalized);
            case RMS -> hookNormalized.fire(normalized).mul(w);
            case NONE -> throw new AssertionError();
        };
    }

    /** The normalisation type. */
    public NormalizationType type() {
        return type;
    }

    /** The hook points of this norm: {@code hook_scale} then {@code hook_normalized}. */
    public HookPoint[] hookPoints() {
        return new HookPoint[] {hookScale, hookNormalized};
    }
}
