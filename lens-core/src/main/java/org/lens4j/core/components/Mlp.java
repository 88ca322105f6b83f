package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;
import org.lens4j.core.HookPoint;

/**
 * The MLP: {@code pre = hook_pre(x @ W_in + b_in)}, {@code post = hook_post(act(pre))} and {@code out =
 * post @ W_out + b_out}. For {@code solu_ln} the activation is followed by a LayerNorm over d_mlp:
 * {@code mid = hook_mid(act(pre))}, {@code post = hook_post(ln(mid))}.
 */
public final class Mlp {

    private final String actFn;
    private final NDArray wIn;
    private final NDArray bIn;
    private final NDArray wOut;
    private final NDArray bOut;
    private final LayerNorm ln;
    private final HookPoint hookPre;
    private final HookPoint hookMid;
    private final HookPoint hookPost;

    /**
     * @param wIn {@code [d_model, d_mlp]}
     * @param bIn {@code [d_mlp]}
     * @param wOut {@code [d_mlp, d_model]}
     * @param bOut {@code [d_model]}
     * @param ln the LayerNorm over d_mlp for solu_ln, else null
     * @param hookMid {@code mlp.hook_mid}, used only with {@code ln}
     */
    public Mlp(String actFn, NDArray wIn, NDArray bIn, NDArray wOut, NDArray bOut, LayerNorm ln,
            HookPoint hookPre, HookPoint hookMid, HookPoint hookPost) {
        this.actFn = actFn;
        this.wIn = wIn;
        this.bIn = bIn;
        this.wOut = wOut;
        this.bOut = bOut;
        this.ln = ln;
        this.hookPre = hookPre;
        this.hookMid = hookMid;
        this.hookPost = hookPost;
    }

    /**
     * @param x {@code [batch, pos, d_model]}
     * @return {@code [batch, pos, d_model]}
     */
    public NDArray forward(NDArray x) {
        NDArray pre = hookPre.fire(x.matMul(wIn).add(bIn));
        NDArray post;
        if (ln != null) {
            NDArray mid = hookMid.fire(Activations.apply(actFn, pre));
            post = hookPost.fire(ln.forward(mid));
        } else {
            post = hookPost.fire(Activations.apply(actFn, pre));
        }
        return post.matMul(wOut).add(bOut);
    }
}
