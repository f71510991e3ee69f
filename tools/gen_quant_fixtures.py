#!/usr/bin/env python3
"""Regenerates tests/fixtures/quant/: raw blocks of every supported type and what the
independent `gguf` Python package dequantizes them to, plus Q8_0/Q4_0 quantization outputs.

Pinned versions (also in tools/requirements-quant.txt):
    gguf==0.19.0
    numpy==2.4.6

Usage:
    pip install -r tools/requirements-quant.txt
    python3 tools/gen_quant_fixtures.py [--model /root/.cache/hearth/qwen.gguf] [--out tests/fixtures/quant]

Files written, for each TYPE:
    TYPE.blocks    raw block bytes (n_blocks * type_size)
    TYPE.expected  float32 little-endian, gguf.quants.dequantize of TYPE.blocks
and for quantization (TYPE in Q8_0, Q4_0):
    quantize_TYPE.input     float32 input rows
    quantize_TYPE.expected  gguf.quants.quantize bytes
Blocks of types present in the model are taken from its tensors (a seeded sample); the
other types come from gguf.quants.quantize of random data where the package can quantize
them, and otherwise from random bytes with fp16 scales of sane magnitude. Output is
deterministic.
"""
import argparse
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

SEED = 1234
REAL_BLOCKS = 192        # blocks taken from the model per present type
SYNTH_BLOCKS_32 = 256    # synthetic blocks of the 32-element types
SYNTH_BLOCKS_256 = 96    # synthetic blocks of the K-quants
PLAIN_ELEMS = 2048       # F32/F16/BF16 elements

ALL_TYPES = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
             T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]

# Byte offsets of the fp16 scale fields inside each block, so random blocks get sane scales.
FP16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def real_blocks(reader, qtype, rng):
    tensors = [t for t in reader.tensors if t.tensor_type == qtype]
    if not tensors:
        return None
    if qtype in (T.F32, T.F16, T.BF16):
        t = max(tensors, key=lambda t: t.data.size)
        flat = np.asarray(t.data).reshape(-1)
        start = int(rng.integers(0, max(1, flat.size - PLAIN_ELEMS)))
        return flat[start:start + PLAIN_ELEMS].view(np.uint8).copy()
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    picked = []
    per = REAL_BLOCKS // min(3, len(tensors)) + 1
    for t in tensors[:3]:
        raw = np.asarray(t.data).reshape(-1, type_size)
        idx = np.sort(rng.choice(raw.shape[0], size=min(per, raw.shape[0]), replace=False))
        picked.append(raw[idx])
    return np.concatenate(picked)[:REAL_BLOCKS].reshape(-1).copy()


def synthetic_blocks(qtype, rng):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype in (T.F32, T.F16, T.BF16):
        x = (rng.standard_normal(PLAIN_ELEMS) * 3).astype(np.float32)
        x[:4] = [0.0, -0.0, 65504.0, 1e-7]  # edge values: signed zero, fp16 max, fp16 subnormal
        out = np.asarray(quantize(x, qtype)).view(np.uint8).reshape(-1).copy()
        if qtype != T.F32:
            # The last 256 elements: random bit patterns (subnormals, inf, NaN payloads).
            out[-512:] = rng.integers(0, 256, 512, dtype=np.uint8)
        return out
    n = SYNTH_BLOCKS_256 if block_size == 256 else SYNTH_BLOCKS_32
    try:
        half = n // 2
        x = (rng.standard_normal((half, block_size)) * rng.uniform(0.01, 2.0, (half, 1))).astype(np.float32)
        x[0] = 0  # all-zero block: zero scale
        q = np.asarray(quantize(x, qtype)).reshape(half, type_size)
    except NotImplementedError:
        half = 0
        q = np.zeros((0, type_size), np.uint8)
    # Random bytes cover every bit pattern of the quants; scales get random fp16 values.
    r = rng.integers(0, 256, (n - half, type_size), dtype=np.uint8)
    for off in FP16_FIELDS[qtype]:
        s = (rng.standard_normal(n - half) * 0.05).astype(np.float16)
        r[:, off:off + 2] = s.view(np.uint8).reshape(-1, 2)
    return np.concatenate([q, r]).reshape(-1).copy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.environ.get("HEARTH_MODEL", "/root/.cache/hearth/qwen.gguf"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "quant"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    reader = gguf.GGUFReader(args.model)

    total = 0
    for qtype in ALL_TYPES:
        blocks = real_blocks(reader, qtype, rng)
        source = "model"
        if blocks is None:
            blocks, source = synthetic_blocks(qtype, rng), "synthetic"
        expected = np.asarray(dequantize(blocks, qtype), dtype=np.float32).reshape(-1)
        with open(os.path.join(args.out, f"{qtype.name}.blocks"), "wb") as f:
            f.write(blocks.tobytes())
        with open(os.path.join(args.out, f"{qtype.name}.expected"), "wb") as f:
            f.write(expected.astype("<f4").tobytes())
        total += blocks.nbytes + expected.nbytes
        print(f"{qtype.name:5s} {source:9s} {blocks.nbytes:7d} bytes -> {expected.size} floats")

    for qtype in (T.Q8_0, T.Q4_0):
        x = (rng.standard_normal((64, 32)) * rng.uniform(0.001, 10, (64, 1))).astype(np.float32)
        x[0] = 0                                   # zero block
        x[1] = np.linspace(-1, 1, 32)              # exact extremes of both signs
        x[2] = np.where(np.arange(32) % 2, 1.0, -1.0) * 0.5  # magnitude ties: first one wins
        x[3, :] = 2.0
        x[3, 5] = -2.0                             # negative extreme after a positive one of equal size
        q = np.asarray(quantize(x.reshape(-1), qtype)).reshape(-1)
        with open(os.path.join(args.out, f"quantize_{qtype.name}.input"), "wb") as f:
            f.write(x.astype("<f4").tobytes())
        with open(os.path.join(args.out, f"quantize_{qtype.name}.expected"), "wb") as f:
            f.write(q.tobytes())
        total += x.nbytes + q.nbytes
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
