#!/usr/bin/env python3
"""Reference embeddings for tests/unit/test_embeddings.cpp, from Hugging Face transformers.

For the tiny F32 model directories in tests/fixtures/tiny_hf (llama, qwen2, qwen3; written by
tools/make_tiny_models.py), runs the base model (AutoModel: the decoder without the LM head) in
float64 on a few token-id inputs and records its `last_hidden_state` (the output norm applied)
pooled two ways, each L2-normalised:
    mean: the average over all input tokens (hearth's default pooling)
    last: the last token's state
Output: tests/fixtures/embeddings/tiny_hf_embeddings.json

Pinned versions: tools/requirements-reference.txt (torch, transformers).
Usage:
    /work/venvs/reference/bin/python tools/gen_embedding_goldens.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModel

ROOT = Path(__file__).resolve().parent.parent
HF = ROOT / "tests" / "fixtures" / "tiny_hf"
MODELS = ["llama", "qwen2", "qwen3"]
# Lengths 1, a few, and past one 16-token batch (the test feeds in chunks of 16).
INPUTS = [
    [72],
    [72, 101, 108, 108, 111, 267, 273, 108, 100],
    [(i * 37 + 11) % 320 for i in range(40)],
]


def pooled(hidden: np.ndarray, how: str) -> list[float]:
    v = hidden.mean(axis=0) if how == "mean" else hidden[-1]
    v = v / np.linalg.norm(v)
    return [float(x) for x in v]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests" / "fixtures" / "embeddings" / "tiny_hf_embeddings.json"))
    args = ap.parse_args()
    torch.manual_seed(0)
    out = {
        "generator": "tools/gen_embedding_goldens.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__},
        "what": "AutoModel(...).last_hidden_state in float64, pooled (mean over tokens | last token), L2-normalised",
        "models": {},
    }
    for name in MODELS:
        model = AutoModel.from_pretrained(HF / name, torch_dtype=torch.float64)
        model.eval()
        cases = []
        for ids in INPUTS:
            with torch.no_grad():
                h = model(input_ids=torch.tensor([ids])).last_hidden_state[0].numpy()
            cases.append({"ids": ids, "mean": pooled(h, "mean"), "last": pooled(h, "last")})
        out["models"][name] = {"dir": f"tiny_hf/{name}", "n_embd": int(h.shape[1]), "cases": cases}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=0)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
