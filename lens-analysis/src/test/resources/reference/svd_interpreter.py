"""Reference singular directions for lens4j's SvdInterpreterTest, computed with NumPy (LAPACK) the way
TransformerLens 2.12's SVDInterpreter does, on the gpt2_style_2l fixture model (unprocessed weights, float64):
right singular vectors of W_V[l,h] @ W_O[l,h], of W_in[l].T * ln2.w[l] and of W_out[l], each projected with W_U.
Signs of singular vectors are arbitrary, so the projections are stored as absolute values [d_vocab][num].
Run: python3 svd_interpreter.py <fixtures dir> > svd_interpreter.json
"""
import json
import sys

import numpy as np

from copying_scores import load  # noqa: E402  (same folder)

NUM = 4
w = load(f"{sys.argv[1]}/gpt2_style_2l/model/weights.safetensors")
cases = {
    "OV_L1H2": w["blocks.1.attn.W_V"][2] @ w["blocks.1.attn.W_O"][2],
    "W_IN_L0": w["blocks.0.mlp.W_in"].T * w["blocks.0.ln2.w"],
    "W_OUT_L1": w["blocks.1.mlp.W_out"],
}
out = {"numpy": np.__version__, "num_vectors": NUM}
for key, m in cases.items():
    _, s, vh = np.linalg.svd(m)
    proj = np.abs(vh[:NUM] @ w["unembed.W_U"]).T
    out[key] = {"singular_values": s[:NUM].tolist(), "abs_projections": proj.tolist()}
print(json.dumps(out))
