#!/usr/bin/env python3
"""Random-weight GGUF models of realistic shape for the MoE-vs-dense benchmark (bench/moe_vs_dense.sh).

Writes, by default under ~/.cache/hearth/models/synthetic/ (never into the repository):

  moe-qwen3moe-q8_0.gguf   qwen3moe: 64 routed experts, 4 used per token, about 1.03 B parameters
  dense-qwen3-q8_0.gguf    qwen3:    the same attention and a dense SwiGLU FFN as wide as the 4
                           active experts together, so one token touches the same number of
                           parameters (within the router's 65 k per layer) as in the MoE file

Both have the same embedding width, heads, layers and vocabulary, so their decode speeds differ
only by how the FFN weights are laid out and read. The tokenizer (a 320-token byte-level BPE) is
copied from tests/fixtures/tiny_moe/qwen3moe-f32.gguf, which llama.cpp and hearth both load; a
small vocabulary keeps the output matrix (which both files share) from dominating the per-token
weight bytes. Weights are N(0, 0.02^2), norm gains 1 + N(0, 0.1^2); 2-D and 3-D weights are
stored as Q8_0 (gguf-py's quantizer, which matches ggml's), norms and the router as F32. Tensor
data is generated and written one tensor at a time, so memory stays below ~1 GB.

    /work/venvs/reference/bin/python tools/make_synthetic_moe.py [--out DIR] [--layers 10] [--type q8_0]

Pinned: gguf==0.19.0 numpy==2.4.6 (tools/requirements-reference.txt).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import gguf

QT = gguf.GGMLQuantizationType
ROOT = Path(__file__).resolve().parent.parent
TOKENIZER_SOURCE = ROOT / "tests/fixtures/tiny_moe/qwen3moe-f32.gguf"

# Shape shared by both files. Qwen3-30B-A3B is 2048 wide, 48 layers, 128 experts of 768, 8 used;
# this keeps its proportions (experts narrower than the model, top-k a small fraction) at ~1 B.
N_EMBD = 1024
N_HEAD = 16
N_HEAD_KV = 4
HEAD_DIM = 64
N_EXPERT = 64
N_EXPERT_USED = 4
N_FF_EXPERT = 512
N_FF_DENSE = N_EXPERT_USED * N_FF_EXPERT  # same active FFN parameters per token
CTX = 4096


class Spec:
    """One tensor: numpy shape (outermost first, ggml's ne reversed), storage type, init."""

    def __init__(self, name: str, shape: tuple[int, ...], qtype: QT, init: str = "weight"):
        self.name, self.shape, self.qtype, self.init = name, shape, qtype, init

    def nbytes(self) -> int:
        n = int(np.prod(self.shape))
        if self.qtype == QT.F32:
            return 4 * n
        block, size = gguf.GGML_QUANT_SIZES[self.qtype]
        assert self.shape[-1] % block == 0, self.name
        return n // block * size

    def byte_shape(self) -> tuple[int, ...]:
        if self.qtype == QT.F32:
            return self.shape
        block, size = gguf.GGML_QUANT_SIZES[self.qtype]
        return (*self.shape[:-1], self.shape[-1] // block * size)

    def data(self, rng: np.random.Generator) -> np.ndarray:
        if self.init == "norm":
            x = 1.0 + 0.1 * rng.standard_normal(self.shape, dtype=np.float32)
        else:
            x = 0.02 * rng.standard_normal(self.shape, dtype=np.float32)
        return gguf.quants.quantize(x, self.qtype)


def attention_specs(i: int, wt: QT) -> list[Spec]:
    p = f"blk.{i}."
    return [
        Spec(p + "attn_norm.weight", (N_EMBD,), QT.F32, "norm"),
        Spec(p + "attn_q.weight", (N_HEAD * HEAD_DIM, N_EMBD), wt),
        Spec(p + "attn_k.weight", (N_HEAD_KV * HEAD_DIM, N_EMBD), wt),
        Spec(p + "attn_v.weight", (N_HEAD_KV * HEAD_DIM, N_EMBD), wt),
        Spec(p + "attn_output.weight", (N_EMBD, N_HEAD * HEAD_DIM), wt),
        Spec(p + "attn_q_norm.weight", (HEAD_DIM,), QT.F32, "norm"),
        Spec(p + "attn_k_norm.weight", (HEAD_DIM,), QT.F32, "norm"),
        Spec(p + "ffn_norm.weight", (N_EMBD,), QT.F32, "norm"),
    ]


def model_specs(arch: str, n_layer: int, wt: QT) -> list[Spec]:
    specs = [Spec("token_embd.weight", (320, N_EMBD), wt)]
    for i in range(n_layer):
        specs += attention_specs(i, wt)
        p = f"blk.{i}."
        if arch == "qwen3moe":
            specs += [
                Spec(p + "ffn_gate_inp.weight", (N_EXPERT, N_EMBD), QT.F32),
                Spec(p + "ffn_gate_exps.weight", (N_EXPERT, N_FF_EXPERT, N_EMBD), wt),
                Spec(p + "ffn_up_exps.weight", (N_EXPERT, N_FF_EXPERT, N_EMBD), wt),
                Spec(p + "ffn_down_exps.weight", (N_EXPERT, N_EMBD, N_FF_EXPERT), wt),
            ]
        else:
            specs += [
                Spec(p + "ffn_gate.weight", (N_FF_DENSE, N_EMBD), wt),
                Spec(p + "ffn_up.weight", (N_FF_DENSE, N_EMBD), wt),
                Spec(p + "ffn_down.weight", (N_EMBD, N_FF_DENSE), wt),
            ]
    specs += [Spec("output_norm.weight", (N_EMBD,), QT.F32, "norm"), Spec("output.weight", (320, N_EMBD), wt)]
    return specs


def copy_tokenizer(w: gguf.GGUFWriter) -> None:
    r = gguf.GGUFReader(TOKENIZER_SOURCE)
    for key, field in r.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vt = field.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_array(key, field.contents())
        else:
            w.add_key_value(key, field.contents(), vt)


def write_model(path: Path, arch: str, n_layer: int, wt: QT, seed: int) -> dict:
    specs = model_specs(arch, n_layer, wt)
    w = gguf.GGUFWriter(path, arch)
    w.add_name(f"hearth-synthetic-{arch}")
    w.add_block_count(n_layer)
    w.add_context_length(CTX)
    w.add_embedding_length(N_EMBD)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_freq_base(1e6)
    w.add_layer_norm_rms_eps(1e-6)
    if arch == "qwen3moe":
        w.add_feed_forward_length(N_FF_DENSE)  # unused by an all-MoE file; present as in Qwen3-MoE's
        w.add_expert_count(N_EXPERT)
        w.add_expert_used_count(N_EXPERT_USED)
        w.add_expert_feed_forward_length(N_FF_EXPERT)
    else:
        w.add_feed_forward_length(N_FF_DENSE)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if wt == QT.Q8_0 else gguf.LlamaFileType.MOSTLY_Q4_0)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    copy_tokenizer(w)
    for s in specs:
        w.add_tensor_info(s.name, s.byte_shape(), np.dtype(np.uint8) if s.qtype != QT.F32 else np.dtype(np.float32),
                          s.nbytes(), raw_dtype=None if s.qtype == QT.F32 else s.qtype)
    w.write_header_to_file(path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for s in specs:
        d = s.data(rng)
        assert d.nbytes == s.nbytes(), s.name
        w.write_tensor_data(d)
    w.close()
    n_params = sum(int(np.prod(s.shape)) for s in specs)
    per_expert = 3 * N_EMBD * N_FF_EXPERT
    embd = 320 * N_EMBD
    if arch == "qwen3moe":
        active = n_params - embd - n_layer * (N_EXPERT - N_EXPERT_USED) * per_expert
    else:
        active = n_params - embd
    # Bytes one decode step must read: every tensor but the embedding (one row), routed experts
    # only for the used ones.
    bytes_all = sum(s.nbytes() for s in specs if s.name != "token_embd.weight")
    exp_bytes = sum(s.nbytes() for s in specs if "_exps" in s.name)
    active_bytes = bytes_all - exp_bytes + exp_bytes * N_EXPERT_USED // N_EXPERT if arch == "qwen3moe" else bytes_all
    return dict(file=str(path), arch=arch, n_params=n_params, n_active_params_excl_embd=active,
                file_bytes=path.stat().st_size, decode_bytes_all_weights=bytes_all,
                decode_bytes_active_weights=active_bytes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.environ.get("HEARTH_CACHE", os.path.expanduser("~/.cache/hearth")),
                                                  "models/synthetic"))
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--type", choices=["q8_0", "q4_0"], default="q8_0")
    args = ap.parse_args()
    out = Path(args.out)
    if ROOT in out.resolve().parents or out.resolve() == ROOT:
        print("refusing to write synthetic models inside the repository", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    wt = QT.Q8_0 if args.type == "q8_0" else QT.Q4_0
    info = {}
    for arch, stem, seed in (("qwen3moe", "moe-qwen3moe", 7), ("qwen3", "dense-qwen3", 8)):
        t0 = time.time()
        path = out / f"{stem}-{args.type}.gguf"
        info[stem] = write_model(path, arch, args.layers, wt, seed)
        print(f"wrote {path} ({info[stem]['file_bytes'] / 1e6:.0f} MB, {info[stem]['n_params'] / 1e6:.0f} M params, "
              f"{info[stem]['n_active_params_excl_embd'] / 1e6:.1f} M active) in {time.time() - t0:.0f} s")
    (out / f"synthetic-{args.type}.json").write_text(json.dumps(info, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
