#!/usr/bin/env python3
"""Byte-exact goldens for hearth's weight quantizers (src/quant/quantize_weights.cpp).

The independent reference is the `gguf` Python package (pinned in tools/requirements-quant.txt),
whose gguf.quants.quantize follows ggml's reference quantizers for the types it implements:
F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0. (It has no quantizer for the K-quants; those are held
to llama.cpp's llama-quantize by RMSE instead, see tools/check_quantized_in_llamacpp.sh.)

Writes tests/fixtures/quant/weights/:
    input.f32      float32 little-endian values (blocks of 32), the same for every type
    TYPE.expected  the bytes gguf.quants.quantize produces for them

Run:  python tools/gen_quantize_goldens.py [--out tests/fixtures/quant/weights]
"""
import argparse
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]


def rows() -> np.ndarray:
    """Blocks of 32 that exercise the rounding corners, then plain random weights."""
    rng = np.random.default_rng(20261123)
    blocks = []
    blocks.append(np.zeros(32))                                   # all zeros
    blocks.append(np.full(32, 0.75))                              # constant positive
    blocks.append(np.full(32, -1.25))                             # constant negative
    b = rng.normal(0, 1, 32); b[5] = 40.0; blocks.append(b)       # one huge positive outlier
    b = rng.normal(0, 1, 32); b[17] = -40.0; blocks.append(b)     # one huge negative outlier
    b = rng.normal(0, 1, 32); b[3] = 2.5; b[9] = -2.5; blocks.append(b)  # tie in magnitude
    blocks.append(rng.normal(0, 1e-4, 32))                        # tiny (fp16 scales go subnormal)
    blocks.append(rng.normal(0, 300.0, 32))                       # large but representable
    blocks.append(np.arange(32) - 16.0)                           # exact grid points, .5 ties for Q4
    blocks.append((np.arange(32) - 15.5) / 7.0)                   # symmetric ramp
    blocks.append(rng.uniform(0.5, 2.0, 32))                      # all positive
    blocks.append(-rng.uniform(0.5, 2.0, 32))                     # all negative
    blocks.append(rng.standard_t(3, 32))                          # heavy tails
    for _ in range(64):                                           # ordinary weights
        blocks.append(rng.normal(0, 0.02, 32))
    return np.concatenate(blocks).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "quant", "weights"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    x = rows()
    with open(os.path.join(args.out, "input.f32"), "wb") as f:
        f.write(x.astype("<f4").tobytes())
    for name in TYPES:
        q = np.asarray(quantize(x.reshape(-1, 32), T[name])).view(np.uint8).reshape(-1)
        with open(os.path.join(args.out, f"{name}.expected"), "wb") as f:
            f.write(q.tobytes())
        print(f"{name}: {x.size} values -> {q.size} bytes")


if __name__ == "__main__":
    main()
