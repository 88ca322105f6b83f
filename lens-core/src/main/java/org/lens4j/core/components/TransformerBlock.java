package org.lens4j.core.components;

import ai.djl.ndarray.NDArray;
import org.lens4j.core.HookPoint;
import org.lens4j.core.HookedTransformerConfig;

/**
 * One transformer block, TransformerLens's {@code TransformerBlock}:
 * <pre>
 * resid_pre  = hook_resid_pre(x)
 * attn_out   = hook_attn_out(attn(ln1(q_in) + pos, ln1(k_in) + pos, ln1(v_in)))   # pos: shortformer only
 * resid_mid  = hook_resid_mid(resid_pre + attn_out)                                  # not attn_only
 * mlp_out    = hook_mlp_out(mlp(ln2(hook_mlp_in(resid_mid))))
 * resid_post = hook_resid_post(resid_mid + mlp_out)
 * </pre>
 * With split inputs, {@code q_in/k_in/v_in} are per-head copies of resid_pre ({@code [batch, pos,
 * n_heads, d_model]}) with their own hooks. ln1 is applied to the query, key and value inputs
 * separately, as in TransformerLens, whenever that can make a difference (split inputs, or a hook that
 * edits ln1's activations); otherwise it is computed once.
 */
public final class TransformerBlock {

    /** The block's hook points, by TransformerLens name suffix. */
    public record Hooks(HookPoint residPre, HookPoint attnIn, HookPoint qInput, HookPoint kInput,
            HookPoint vInput, HookPoint attnOut, HookPoint residMid, HookPoint mlpIn, HookPoint mlpOut,
            HookPoint residPost) {}

    private final LayerNorm ln1;
    private final LayerNorm ln2;
    private final Attention attn;
    private final Mlp mlp;
    private final Hooks hooks;

    /**
     * @param ln1 the norm before attention, or null when normalization_type is None
     * @param ln2 the norm before the MLP, or null (None, or attention-only)
     * @param mlp the MLP, or null for attention-only blocks
     */
    public TransformerBlock(LayerNorm ln1, LayerNorm ln2, Attention attn, Mlp mlp, Hooks hooks) {
        this.ln1 = ln1;
        this.ln2 = ln2;
        this.attn = attn;
        this.mlp = mlp;
        this.hooks = hooks;
    }

    /**
     * @param x the residual stream {@code [batch, pos, d_model]}
     * @param shortformerPos positional embeddings added to the query and key inputs (shortformer), or null
     * @param cfg the model's current configuration (hook flags may change between calls)
     * @param maskBias see {@link Attention#forward}
     * @param maskCanEmptyRows see {@link Attention#forward}
     * @return the block output {@code [batch, pos, d_model]}
     */
    public NDArray forward(NDArray x, NDArray shortformerPos, HookedTransformerConfig cfg, NDArray maskBias,
            boolean maskCanEmptyRows) {
        NDArray residPre = hooks.residPre().fire(x);
        int nHeads = cfg.nHeads();
        NDArray pos = shortformerPos;
        NDArray qIn;
        NDArray kIn;
        NDArray vIn;
        if (cfg.useSplitQkvInput() || cfg.useAttnIn()) {
            if (pos != null) {
                pos = perHead(pos, nHeads);
            }
        }
        if (cfg.useSplitQkvInput()) {
            qIn = hooks.qInput().fire(perHead(residPre, nHeads));
            kIn = hooks.kInput().fire(perHead(residPre, nHeads));
            vIn = hooks.vInput().fire(perHead(residPre, nHeads));
        } else if (cfg.useAttnIn()) {
            qIn = hooks.attnIn().fire(perHead(residPre, nHeads));
            kIn = qIn;
            vIn = qIn;
        } else {
            qIn = residPre;
            kIn = residPre;
            vIn = residPre;
        }
        NDArray qNormed;
        NDArray kNormed;
        NDArray vNormed;
        if (ln1 == null) {
            qNormed = qIn;
            kNormed = kIn;
            vNormed = vIn;
        } else if (cfg.useSplitQkvInput() || editsLn1()) {
            qNormed = ln1.forward(qIn);
            kNormed = ln1.forward(kIn);
            vNormed = ln1.forward(vIn);
        } else {
            qNormed = ln1.forward(qIn);
            kNormed = qNormed;
            vNormed = qNormed;
        }
        if (pos != null) {
            boolean shared = qNormed == kNormed;
            qNormed = qNormed.add(pos);
            kNormed = shared ? qNormed : kNormed.add(pos);
        }
        NDArray attnOut = hooks.attnOut().fire(
                attn.forward(qNormed, kNormed, vNormed, maskBias, maskCanEmptyRows, cfg.useAttnResult()));
        if (mlp == null) {
            return hooks.residPost().fire(residPre.add(attnOut));
        }
        NDArray residMid = hooks.residMid().fire(residPre.add(attnOut));
        NDArray mlpIn = cfg.useHookMlpIn() ? hooks.mlpIn().fire(residMid.duplicate()) : residMid;
        NDArray normed = ln2 == null ? mlpIn : ln2.forward(mlpIn);
        NDArray mlpOut = hooks.mlpOut().fire(mlp.forward(normed));
        return hooks.residPost().fire(residMid.add(mlpOut));
    }

    private boolean editsLn1() {
        for (HookPoint p : ln1.hookPoints()) {
            if (p.hasEditingHooks()) {
                return true;
            }
        }
        return false;
    }

    /** {@code [batch, pos, d_model]} to a per-head copy {@code [batch, pos, n_heads, d_model]}. */
    private static NDArray perHead(NDArray x, int nHeads) {
        return x.expandDims(2).repeat(2, nHeads);
    }
}
