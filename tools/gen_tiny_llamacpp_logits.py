#!/usr/bin/env python3
"""llama.cpp's logits on the tiny-model fixtures, for hearth's fast (quantized-activation) path.

transformers is the reference for the function a model computes; llama.cpp is the reference
for how a CPU engine computes it with quantized activations (Q8_0 blocks for Q8_0 weights).
For each tests/fixtures/tiny/<stem>.gguf this writes <stem>.llamacpp.logits.bin in the same
HLOG format as <stem>.logits.bin, evaluating the same prompts with llama.cpp on the CPU with an
F32 KV cache and no flash attention, every position's logits.

    pip install -r tools/requirements-llamacpp.txt   # llama-cpp-python==0.3.36
    python3 tools/gen_tiny_llamacpp_logits.py [--dir tests/fixtures/tiny]
"""
import argparse
import struct
import sys
from pathlib import Path

import numpy as np

PINS = {"llama_cpp_python": "0.3.36"}


def read_hlog(path: Path):
    data = path.read_bytes()
    assert data[:4] == b"HLOG", path
    n_prompts, n_vocab = struct.unpack_from("<II", data, 4)
    off = 12
    prompts = []
    for _ in range(n_prompts):
        (n,) = struct.unpack_from("<I", data, off)
        off += 4
        ids = list(struct.unpack_from(f"<{n}i", data, off))
        off += 4 * n
        off += 4 * n * n_vocab
        prompts.append(ids)
    return n_vocab, prompts


def write_hlog(path: Path, n_vocab: int, rows):
    with open(path, "wb") as f:
        f.write(b"HLOG" + struct.pack("<II", len(rows), n_vocab))
        for ids, logits in rows:
            f.write(struct.pack("<I", len(ids)))
            f.write(np.asarray(ids, dtype="<i4").tobytes())
            f.write(np.asarray(logits, dtype="<f4").tobytes())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(Path(__file__).resolve().parent.parent / "tests/fixtures/tiny"))
    args = ap.parse_args()
    import llama_cpp
    from llama_cpp import Llama

    if llama_cpp.__version__ != PINS["llama_cpp_python"]:
        print(f"warning: llama-cpp-python {llama_cpp.__version__} != pinned {PINS['llama_cpp_python']}", file=sys.stderr)
    d = Path(args.dir)
    for path in sorted(d.glob("*.gguf")):
        stem = path.name[:-5]
        n_vocab, prompts = read_hlog(d / f"{stem}.logits.bin")
        rows = []
        for ids in prompts:
            # A fresh context per prompt: reusing one after reset() gave stale rows for all but
            # the longest prompt in llama-cpp-python 0.3.36.
            llm = Llama(model_path=str(path), logits_all=True, n_ctx=64, n_batch=64, n_ubatch=64, n_threads=1,
                        verbose=False, type_k=0, type_v=0, flash_attn=False)  # type 0 = F32 KV cache
            llm.eval(ids)
            rows.append((ids, np.asarray(llm.scores[: len(ids)], dtype=np.float32)))
            del llm
        write_hlog(d / f"{stem}.llamacpp.logits.bin", n_vocab, rows)
        print(f"wrote {stem}.llamacpp.logits.bin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
