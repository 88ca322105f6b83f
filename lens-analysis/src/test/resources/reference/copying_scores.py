"""Reference copying scores for lens4j's CopyingScoresTest, computed with NumPy (LAPACK geev) on the explicit
vocabulary-sized full OV circuit W_E @ W_V[l, h] @ W_O[l, h] @ W_U of the TransformerLens 2.12 fixture models
(float32 weights, float64 arithmetic). Run: python3 copying_scores.py <fixtures dir> > copying_scores.json
"""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        assert v["dtype"] == "F32"
        out[k] = np.frombuffer(data[b:e], dtype=np.float32).reshape(v["shape"]).astype(np.float64)
    return out


def main():
    result = {"numpy": np.__version__}
    for name in ["gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"]:
        w = load(f"{sys.argv[1]}/{name}/model/weights.safetensors")
        layers = sum(1 for k in w if k.endswith("attn.W_V"))
        scores = []
        for l in range(layers):
            row = []
            for h in range(w[f"blocks.{l}.attn.W_V"].shape[0]):
                full = w["embed.W_E"] @ w[f"blocks.{l}.attn.W_V"][h] @ w[f"blocks.{l}.attn.W_O"][h] @ w["unembed.W_U"]
                eig = np.linalg.eigvals(full)
                row.append(float(eig.real.sum() / np.abs(eig).sum()))
            scores.append(row)
        result[name] = scores
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
