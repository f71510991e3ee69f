#!/usr/bin/env python3
"""Generate tiny random-weight GGUF models plus reference logits from Hugging Face transformers.

Output: tests/fixtures/tiny/ (see the README.md written there for the format), and each model as a
Hugging Face directory (save_pretrained safetensors + tokenizer.json) in tests/fixtures/tiny_hf/.

Pinned versions (also in tools/requirements-reference.txt):
    gguf==0.19.0  numpy==2.4.6  torch==2.15.0  transformers==4.57.6

Usage:
    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install -r tools/requirements-reference.txt
    /tmp/ref/bin/python tools/make_tiny_models.py [--out tests/fixtures/tiny]
    python3 tools/make_tiny_models.py --check      # numpy + gguf only: independent re-check
    python3 tools/make_tiny_models.py --llamacpp   # optional: compare with llama-cpp-python

What it does, per model (LlamaForCausalLM x2, Qwen2ForCausalLM, Qwen3ForCausalLM):
  1. builds the HF model from a config with odd-ish sizes and seeded random weights
     (norm weights and biases are randomised too, so they are not trivially 1 / 0);
  2. writes it as GGUF the way llama.cpp's convert_hf_to_gguf.py would (names, metadata keys,
     Q/K row permutation for `llama`, llama3 `rope_freqs.weight`, 1-D tensors kept F32)
     in F32, F16 and Q8_0;
  3. reads back the exact values stored in each file (gguf.quants.dequantize), loads them into the
     HF model and records its logits at every position of 4 fixed prompts. The forward pass runs
     in float64 so the reference has no float32 rounding of its own; the float32-vs-float64
     difference and the quantisation effect (vs. the F32 model) are recorded in manifest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

PINS = {"gguf": "0.19.0", "numpy": "2.4.6", "torch": "2.15.0", "transformers": "4.57.6"}

import numpy as np
import gguf

# torch / transformers are imported in main() only when generating, so that --check needs just
# numpy + gguf.
torch = None
transformers = None

QT = gguf.GGMLQuantizationType

VOCAB_SIZE = 320
PROMPT_LENGTHS = (1, 7, 16, 33)
PROMPT_SEED = 1234

# Shapes: llama/qwen2 hidden 96, 6 query heads, 2 kv heads (GQA 3:1), head_dim 16, FFN 160.
# Every 2-D tensor's row length (ne0: hidden, FFN, n_head*head_dim) is a multiple of 32 so that
# it can be stored as Q8_0 blocks.
MODELS = [
    dict(
        name="llama", arch="llama", hf_class="LlamaForCausalLM", config_class="LlamaConfig", seed=11,
        types=("f32", "f16", "q8_0"),
        config=dict(hidden_size=96, intermediate_size=160, num_hidden_layers=2,
                    num_attention_heads=6, num_key_value_heads=2, head_dim=16,
                    rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=256,
                    tie_word_embeddings=False, initializer_range=0.2),
    ),
    dict(
        # llama3-style rope scaling. original context 64 puts the 16-dim head's frequencies in all
        # three regimes: index 0 (wavelen 6.3 < 16) unscaled, index 1 (wavelen 32.4) smoothed,
        # indices 2..7 (wavelen > 64) divided by `factor`.
        name="llama3rope", arch="llama", hf_class="LlamaForCausalLM", config_class="LlamaConfig", seed=12,
        types=("f32",),
        config=dict(hidden_size=96, intermediate_size=160, num_hidden_layers=2,
                    num_attention_heads=6, num_key_value_heads=2, head_dim=16,
                    rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=512,
                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                      high_freq_factor=4.0, original_max_position_embeddings=64),
                    tie_word_embeddings=False, initializer_range=0.2),
    ),
    dict(
        # Tied embeddings (no output.weight), q/k/v biases.
        name="qwen2", arch="qwen2", hf_class="Qwen2ForCausalLM", config_class="Qwen2Config", seed=21,
        types=("f32", "f16", "q8_0"),
        config=dict(hidden_size=96, intermediate_size=160, num_hidden_layers=2,
                    num_attention_heads=6, num_key_value_heads=2,
                    rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=256,
                    tie_word_embeddings=True, use_sliding_window=False, initializer_range=0.2),
    ),
    dict(
        # head_dim 24 != hidden/heads (16): q has 96 rows for a 64-wide hidden state, attn_output
        # has 96 columns; q/k RMS norms over head_dim; 3 layers; GQA 2:1.
        name="qwen3", arch="qwen3", hf_class="Qwen3ForCausalLM", config_class="Qwen3Config", seed=31,
        types=("f32", "f16", "q8_0"),
        config=dict(hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                    rms_norm_eps=1e-6, rope_theta=2000000.0, max_position_embeddings=256,
                    tie_word_embeddings=False, attention_bias=False, use_sliding_window=False,
                    initializer_range=0.2),
    ),
]

# tests/fixtures/tiny_hf/<name>/: (safetensors dtype, pre-tokenizer of its tokenizer.json).
HF_DIRS = {"llama": ("f32", "llama-bpe"), "llama3rope": ("f32", "smollm"), "qwen2": ("f32", "qwen2"),
           "qwen3": ("f32", "qwen2")}

FILE_TYPES = {
    # name: (GGML type for 2-D weights, general.file_type)
    "f32": (QT.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (QT.F16, gguf.LlamaFileType.MOSTLY_F16),
    "q8_0": (QT.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
}


# ----------------------------------------------------------------------------------------------
# Toy byte-level BPE vocabulary (GPT-2 style): 256 byte tokens (id == byte value), a few merges,
# two control tokens, then unused padding up to VOCAB_SIZE.

def gpt2_byte_chars() -> list[str]:
    """Printable character that GPT-2's byte-level BPE uses for each byte value 0..255."""
    printable = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    out, shifted = [], 0
    for b in range(256):
        if b in printable:
            out.append(chr(b))
        else:
            out.append(chr(0x100 + shifted))
            shifted += 1
    return out


MERGE_PAIRS = [
    ("Ġ", "t"), ("h", "e"), ("i", "n"), ("e", "r"), ("a", "n"), ("o", "n"), ("r", "e"),
    ("Ġ", "a"), ("Ġt", "he"), ("Ġ", "s"), ("o", "u"), ("Ġ", "w"), ("e", "n"), ("i", "s"),
    ("Ġ", "c"), ("a", "t"), ("Ġ", "o"), ("o", "r"), ("e", "s"), ("Ġ", "b"), ("Ġ", "f"),
    ("i", "t"), ("Ġ", "m"), ("a", "l"), ("Ġ", "p"), ("e", "d"), ("Ġ", "in"), ("n", "g"),
    ("in", "g"), ("Ġ", "h"),
]


def build_vocab(vocab_size: int):
    tokens = gpt2_byte_chars()
    types = [gguf.TokenType.NORMAL] * 256
    merges = []
    for left, right in MERGE_PAIRS:
        assert left in tokens and right in tokens, (left, right)
        tokens.append(left + right)
        types.append(gguf.TokenType.NORMAL)
        merges.append(f"{left} {right}")
    bos_id = len(tokens)
    tokens.append("<|bos|>")
    types.append(gguf.TokenType.CONTROL)
    eos_id = len(tokens)
    tokens.append("<|eos|>")
    types.append(gguf.TokenType.CONTROL)
    assert len(set(tokens)) == len(tokens)
    while len(tokens) < vocab_size:
        tokens.append(f"[PAD{len(tokens)}]")
        types.append(gguf.TokenType.UNUSED)
    assert len(tokens) == vocab_size
    return tokens, types, merges, bos_id, eos_id


# ----------------------------------------------------------------------------------------------
# llama Q/K row permutation: HF stores each head's rotary pairs as (i, i + hd/2) ("rotate half");
# llama.cpp's `llama` arch rotates adjacent rows (2i, 2i+1). Row r = h*hd + p*hd/2 + i of the HF
# weight moves to h*hd + 2i + p.

def llama_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    hd = w.shape[0] // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    hd = w.shape[0] // n_head
    return w.reshape(n_head, hd // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_factors(cfg: dict) -> np.ndarray:
    """Per-frequency divisors, as convert_hf_to_gguf.py stores them in rope_freqs.weight."""
    rs = cfg["rope_scaling"]
    dim = cfg["head_dim"]
    base = cfg["rope_theta"]
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    lo_wavelen, hi_wavelen = old_ctx / lo, old_ctx / hi
    out = []
    for f in freqs.astype(np.float64):
        wavelen = 2 * math.pi / f
        if wavelen < hi_wavelen:
            out.append(1.0)
        elif wavelen > lo_wavelen:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - lo) / (hi - lo)
            out.append(1.0 / ((1.0 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


# ----------------------------------------------------------------------------------------------
# HF <-> GGUF tensor names

LAYER_MAP = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(hf_name: str) -> str:
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    if hf_name == "lm_head.weight":
        return "output.weight"
    parts = hf_name.split(".")
    assert parts[0] == "model" and parts[1] == "layers", hf_name
    return f"blk.{int(parts[2])}.{LAYER_MAP['.'.join(parts[3:])]}"


# ----------------------------------------------------------------------------------------------

def make_hf_model(spec: dict):
    cfg = dict(spec["config"])
    cfg["vocab_size"] = VOCAB_SIZE
    config = getattr(transformers, spec["config_class"])(**cfg, attn_implementation="eager", torch_dtype="float32")
    torch.manual_seed(spec["seed"])
    model = getattr(transformers, spec["hf_class"])(config).eval()
    gen = torch.Generator().manual_seed(spec["seed"])
    std = cfg["initializer_range"]
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters are listed once
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.25 * noise)  # RMSNorm gains around 1
            elif name.endswith(".bias"):
                p.copy_(0.5 * noise)
            else:
                p.copy_(std * noise)
        # DeepSeek-V3 / GLM routing bias is a buffer, not a parameter (no-op for dense models).
        for name, buf in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buf.copy_(0.1 * torch.randn(buf.shape, generator=gen, dtype=torch.float32))
    return config, model


def hf_state(model) -> dict[str, np.ndarray]:
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    return sd


def run_logits(model, prompts, dtype) -> list[np.ndarray]:
    model = model.to(dtype)
    out = []
    with torch.no_grad():
        for ids in prompts:
            x = torch.tensor([ids], dtype=torch.long)
            lg = model(input_ids=x, use_cache=False).logits[0]
            out.append(lg.to(torch.float64).numpy())
    model.to(torch.float32)
    return out


def write_logits(path: Path, prompts, logits, n_vocab: int):
    with open(path, "wb") as f:
        f.write(b"HLOG")
        f.write(struct.pack("<II", len(prompts), n_vocab))
        for ids, lg in zip(prompts, logits):
            assert lg.shape == (len(ids), n_vocab)
            f.write(struct.pack("<I", len(ids)))
            f.write(np.asarray(ids, dtype="<i4").tobytes())
            f.write(np.ascontiguousarray(lg, dtype="<f4").tobytes())


def write_gguf(path: Path, spec: dict, cfg: dict, sd: dict[str, np.ndarray], ftype_name: str,
               vocab) -> dict[str, np.ndarray]:
    """Writes the GGUF file; returns the HF state dict holding the exact values stored in it."""
    arch = spec["arch"]
    wtype, file_type = FILE_TYPES[ftype_name]
    tokens, toktypes, merges, bos_id, eos_id = vocab
    n_head, n_head_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // n_head)

    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"hearth-tiny-{spec['name']}")
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    if "head_dim" in cfg:  # convert_hf_to_gguf.py writes these whenever config.json has head_dim
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    if arch == "llama":
        w.add_vocab_size(VOCAB_SIZE)
        w.add_rope_dimension_count(head_dim)
    w.add_file_type(file_type)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(toktypes)
    w.add_token_merges(merges)
    w.add_bos_token_id(bos_id)
    w.add_eos_token_id(eos_id)
    w.add_add_bos_token(False)

    stored: dict[str, np.ndarray] = {}
    if (cfg.get("rope_scaling") or {}).get("rope_type") == "llama3":
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(cfg))

    for hf_name, arr in sd.items():
        name = gguf_name(hf_name)
        data = arr
        permuted_heads = None
        if arch == "llama" and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            permuted_heads = n_head
        elif arch == "llama" and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            permuted_heads = n_head_kv
        if permuted_heads is not None:
            data = llama_permute(data, permuted_heads)
            assert np.array_equal(llama_unpermute(data, permuted_heads), arr)

        if data.ndim == 1 or wtype == QT.F32:
            w.add_tensor(name, np.ascontiguousarray(data, dtype=np.float32))
            back = data.astype(np.float32)
        elif wtype == QT.F16:
            h = np.ascontiguousarray(data, dtype=np.float16)
            w.add_tensor(name, h)
            back = h.astype(np.float32)
        else:
            assert data.shape[-1] % 32 == 0, (name, data.shape)
            q = gguf.quants.quantize(np.ascontiguousarray(data, dtype=np.float32), wtype)
            w.add_tensor(name, q, raw_dtype=wtype)
            back = gguf.quants.dequantize(q, wtype).reshape(data.shape).astype(np.float32)
        if permuted_heads is not None:
            back = llama_unpermute(back, permuted_heads)
        stored[hf_name] = back

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return stored


def check_gguf_roundtrip(path: Path, stored: dict[str, np.ndarray], spec: dict, cfg: dict):
    """Re-reads the file with gguf.GGUFReader and checks the dequantized tensors."""
    r = gguf.GGUFReader(str(path))
    by_name = {t.name: t for t in r.tensors}
    n_head, n_head_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    for hf_name, want in stored.items():
        t = by_name[gguf_name(hf_name)]
        got = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(want.shape)
        if spec["arch"] == "llama" and "q_proj" in hf_name:
            got = llama_unpermute(got, n_head)
        elif spec["arch"] == "llama" and "k_proj" in hf_name:
            got = llama_unpermute(got, n_head_kv)
        assert np.array_equal(got.astype(np.float32), want), hf_name


def read_logits(path: Path):
    """Parses a .logits.bin file (the format documented in the README)."""
    buf = path.read_bytes()
    assert buf[:4] == b"HLOG", path
    n_prompts, n_vocab = struct.unpack_from("<II", buf, 4)
    off, out = 12, []
    for _ in range(n_prompts):
        (n,) = struct.unpack_from("<I", buf, off)
        off += 4
        ids = np.frombuffer(buf, dtype="<i4", count=n, offset=off).tolist()
        off += 4 * n
        lg = np.frombuffer(buf, dtype="<f4", count=n * n_vocab, offset=off).reshape(n, n_vocab)
        off += 4 * n * n_vocab
        out.append((ids, lg))
    assert off == len(buf), path
    return out


def numpy_forward(path: Path, ids: list[int]) -> np.ndarray:
    """Independent float64 forward pass over a GGUF file, following llama.cpp's conventions
    (llama: adjacent-pair rope on the permuted Q/K rows, divided by rope_freqs; qwen2/qwen3:
    NEOX rope on (i, i + head_dim/2)). Used by --check to validate the fixtures."""
    r = gguf.GGUFReader(str(path))
    kv = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    arch = kv["general.architecture"]
    t = {x.name: gguf.quants.dequantize(np.asarray(x.data), x.tensor_type)
         .reshape([int(d) for d in reversed(x.shape)]).astype(np.float64) for x in r.tensors}
    n_layer = kv[f"{arch}.block_count"]
    n_head = kv[f"{arch}.attention.head_count"]
    n_kv = kv[f"{arch}.attention.head_count_kv"]
    n_embd = kv[f"{arch}.embedding_length"]
    hd = kv.get(f"{arch}.attention.key_length", n_embd // n_head)
    eps = float(np.float32(kv[f"{arch}.attention.layer_norm_rms_epsilon"]))
    base = kv[f"{arch}.rope.freq_base"]
    freq = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    if "rope_freqs.weight" in t:
        freq = freq / t["rope_freqs.weight"]
    T = len(ids)
    ang = np.arange(T, dtype=np.float64)[:, None] * freq[None, :]  # [T, hd/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    def rope(x):  # x: [T, heads, hd]
        if arch == "llama":
            a, b = x[..., 0::2], x[..., 1::2]
            y = np.empty_like(x)
            y[..., 0::2] = a * cos - b * sin
            y[..., 1::2] = a * sin + b * cos
            return y
        a, b = x[..., : hd // 2], x[..., hd // 2:]
        return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)

    x = t["token_embd.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(n_layer):
        p = f"blk.{i}."
        h = rms(x, t[p + "attn_norm.weight"])
        q = h @ t[p + "attn_q.weight"].T + t.get(p + "attn_q.bias", 0.0)
        k = h @ t[p + "attn_k.weight"].T + t.get(p + "attn_k.bias", 0.0)
        v = h @ t[p + "attn_v.weight"].T + t.get(p + "attn_v.bias", 0.0)
        q, k, v = q.reshape(T, n_head, hd), k.reshape(T, n_kv, hd), v.reshape(T, n_kv, hd)
        if p + "attn_q_norm.weight" in t:
            q, k = rms(q, t[p + "attn_q_norm.weight"]), rms(k, t[p + "attn_k_norm.weight"])
        q, k = rope(q), rope(k)
        att = np.empty((T, n_head, hd))
        for hh in range(n_head):
            g = hh // (n_head // n_kv)
            s = q[:, hh, :] @ k[:, g, :].T / math.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            att[:, hh, :] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, g, :]
        x = x + att.reshape(T, n_head * hd) @ t[p + "attn_output.weight"].T
        h = rms(x, t[p + "ffn_norm.weight"])
        gate = h @ t[p + "ffn_gate.weight"].T
        x = x + ((gate / (1.0 + np.exp(-gate))) * (h @ t[p + "ffn_up.weight"].T)) @ t[p + "ffn_down.weight"].T
    out_w = t.get("output.weight", t["token_embd.weight"])
    return rms(x, t["output_norm.weight"]) @ out_w.T


def check_fixtures(out: Path) -> float:
    worst = 0.0
    for path in sorted(out.glob("*.gguf")):
        ref = read_logits(path.with_name(path.name[:-5] + ".logits.bin"))
        diff = max(float(np.abs(numpy_forward(path, ids) - lg).max()) for ids, lg in ref)
        print(f"check {path.name}: max |numpy - reference| = {diff:.3g}")
        worst = max(worst, diff)
    return worst


def check_llamacpp(out: Path) -> None:
    """Optional: compare llama.cpp (llama-cpp-python, CPU, F32 KV cache) with the references."""
    from llama_cpp import Llama
    for path in sorted(out.glob("*.gguf")):
        ref = read_logits(path.with_name(path.name[:-5] + ".logits.bin"))
        llm = Llama(model_path=str(path), logits_all=True, n_ctx=64, n_batch=64, n_ubatch=64,
                    n_threads=1, verbose=False, type_k=0, type_v=0, flash_attn=False)  # 0 = F32
        worst = 0.0
        for ids, lg in ref:
            llm.reset()
            llm.eval(ids)
            worst = max(worst, float(np.abs(np.asarray(llm.scores[: len(ids)]) - lg).max()))
        print(f"llama.cpp {path.name}: max |llama.cpp - reference| = {worst:.3g}")
        del llm


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------------
# Hugging Face directories (tests/fixtures/tiny_hf/<name>/): the same models as saved by
# save_pretrained (safetensors) with a tokenizer.json of the toy vocabulary, for hearth's importer.
# F32 directories hold exactly the weights of the F32 GGUF files, so their reference is the very
# same logits file; BF16/F16 directories get reference logits of their own, computed the same
# way on the exact stored (rounded) values.

HF_ROOT = Path(__file__).resolve().parent.parent / "tests/fixtures/tiny_hf"

# Pre-tokenizer regexes as the families' tokenizer.json files write them.
QWEN2_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
DEEPSEEK3_RES = [
    r"\p{N}{1,3}",
    "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
    r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
]

# Lines whose token ids (from the `tokenizers` library) hearth must reproduce.
TOKEN_LINES = [
    "Hello world",
    "the cat sat in the sun, isn't it? They'll see.",
    "  leading spaces\tand tabs\nnew line\r\nwindows   end  ",
    "numbers 1234567 and 3.14159, 42nd",
    "na\u00efve caf\u00e9 \u2013 \u201cquotes\u201d \U0001F600!",
    "\u4e2d\u6587\u5b57\u7b26 \u65e5\u672c\u8a9e \u30ab\u30bf\u30ab\u30ca",
    "<|bos|>special<|eos|> tokens <|eos|>",
    "MiXeD CaSe ABC's 'LL \u00c9t\u00e9 \u00df",
]
# Not among them: decomposed text such as "e\u0301". Qwen's tokenizer.json normalizes with NFC;
# hearth, like llama.cpp, does not normalize, so such input tokenizes differently (a known gap).

CHATML = ("{% for m in messages %}<|bos|>{{ m['role'] }}\n{{ m['content'] }}<|eos|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|bos|>assistant\n{% endif %}")


def hf_tokenizer(pre: str):
    """A `tokenizers` byte-level BPE over the toy vocabulary with one family's pre-tokenizer."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    tokens, _, merges, bos_id, eos_id = build_vocab(VOCAB_SIZE)
    vocab = {t: i for i, t in enumerate(tokens[:bos_id])}
    bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], ignore_merges=(pre == "llama-bpe"))
    tok = Tokenizer(bpe)
    split = lambda r: pre_tokenizers.Split(Regex(r), behavior="isolated", invert=False)  # noqa: E731
    bytes_only = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    if pre == "qwen2":
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([split(QWEN2_RE), bytes_only])
    elif pre == "llama-bpe":
        tok.pre_tokenizer = pre_tokenizers.Sequence([split(LLAMA3_RE), bytes_only])
    elif pre == "deepseek-v3":
        tok.pre_tokenizer = pre_tokenizers.Sequence([split(r) for r in DEEPSEEK3_RES] + [bytes_only])
    elif pre == "gpt-2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    elif pre == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    else:
        raise ValueError(pre)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|bos|>", special=True, normalized=False),
                            AddedToken("<|eos|>", special=True, normalized=False)])
    assert tok.token_to_id("<|bos|>") == bos_id and tok.token_to_id("<|eos|>") == eos_id
    if pre == "llama-bpe":  # as Llama 3: the post-processor puts BOS in front
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|bos|> $A", pair="<|bos|> $A <|bos|> $B",
                                          special_tokens=[("<|bos|>", bos_id)])])
    return tok


def write_hf_tokenizer(d: Path, pre: str):
    """tokenizer.json, tokenizer_config.json (or chat_template.jinja) and token_ids.json in `d`."""
    from tokenizers import Tokenizer
    tok = hf_tokenizer(pre)
    tok.save(str(d / "tokenizer.json"))
    tc = {"bos_token": "<|bos|>", "eos_token": "<|eos|>", "model_max_length": 256,
          "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False}
    if pre == "qwen2":  # the other place transformers keeps a template
        (d / "chat_template.jinja").write_text(CHATML)
    else:
        tc["chat_template"] = CHATML
    (d / "tokenizer_config.json").write_text(json.dumps(tc, indent=1) + "\n")

    # Token-id goldens from the saved file, read back by the library itself.
    back = Tokenizer.from_file(str(d / "tokenizer.json"))
    goldens = [{"text": t, "ids": back.encode(t).ids} for t in TOKEN_LINES]
    (d / "token_ids.json").write_text("[\n" + ",\n".join(json.dumps(g, ensure_ascii=False) for g in goldens) + "\n]\n")


def save_hf_dir(name: str, model, config, dtype_name: str, pre: str, prompts, f32_logits: Path | None,
                check=None) -> dict:
    """Writes tests/fixtures/tiny_hf/<name>/ and returns its manifest entry. `f32_logits`: the GGUF
    fixture's reference, valid for an F32 directory; `check(ref_model)` may veto the stored weights."""
    import shutil
    from safetensors.torch import load_file
    d = HF_ROOT / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[dtype_name]
    import copy
    m = copy.deepcopy(model).to(dtype)
    m.save_pretrained(d, safe_serialization=True)
    (d / "generation_config.json").unlink(missing_ok=True)  # not read by anything here

    write_hf_tokenizer(d, pre)

    stored = {k: v.to(torch.float32).numpy() for k, v in load_file(str(d / "model.safetensors")).items()}
    ref = type(model)(config).eval()
    full = dict(stored)
    if config.tie_word_embeddings:
        full["lm_head.weight"] = full["model.embed_tokens.weight"]
    ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in full.items()}, strict=True)
    entry = {"dtype": dtype_name, "pre": pre, "bytes": sum(p.stat().st_size for p in d.iterdir())}
    if check is not None:
        entry.update(check(ref))
    if dtype_name == "f32":
        want = hf_state(model)
        assert set(stored) == set(want) and all(np.array_equal(stored[k], want[k]) for k in want), name
        entry["logits"] = str(f32_logits.relative_to(HF_ROOT.parent))
    else:
        lg64 = run_logits(ref, prompts, torch.float64)
        write_logits(d / "reference.logits.bin", prompts, lg64, VOCAB_SIZE)
        entry["logits"] = f"tiny_hf/{name}/reference.logits.bin"
    assert entry["bytes"] < 1 << 20, (name, entry["bytes"])
    print(f"tiny_hf/{name}: {json.dumps(entry)}")
    return entry


def update_hf_manifest(entries: dict, generator: str, versions: dict):
    import tokenizers
    path = HF_ROOT / "manifest.json"
    man = json.loads(path.read_text()) if path.exists() else {}
    man.setdefault("models", {}).update(entries)
    man["generators"] = sorted(set(man.get("generators", [])) | {generator})
    man["versions"] = dict(versions, tokenizers=tokenizers.__version__)
    man["logits_format"] = "HLOG (see tests/fixtures/tiny/README.md); paths relative to tests/fixtures"
    man["token_ids"] = "token_ids.json: the `tokenizers` library's ids (post-processor included) of each line"
    path.write_text(json.dumps(man, indent=1, sort_keys=True) + "\n")


def check_versions() -> dict:
    """Installed versions of the pinned packages; warns on a mismatch."""
    versions = {"gguf": getattr(gguf, "__version__", None), "numpy": np.__version__,
                "torch": torch.__version__.split("+")[0], "transformers": transformers.__version__}
    try:
        from importlib.metadata import version
        versions["gguf"] = version("gguf")
    except Exception:
        pass
    for pkg, want in PINS.items():
        if versions.get(pkg) != want:
            print(f"warning: {pkg} {versions.get(pkg)} != pinned {want}; output may differ", file=sys.stderr)
    return versions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/fixtures/tiny"))
    ap.add_argument("--check", action="store_true",
                    help="only re-check existing fixtures against an independent numpy forward pass")
    ap.add_argument("--llamacpp", action="store_true",
                    help="only compare existing fixtures with llama.cpp (needs llama-cpp-python)")
    args = ap.parse_args()
    out = Path(args.out)
    if args.llamacpp:
        check_llamacpp(out)
        return 0
    if args.check:
        worst = check_fixtures(out)
        return 0 if worst < 1e-4 else 1

    global torch, transformers
    import torch
    import transformers
    out.mkdir(parents=True, exist_ok=True)

    versions = check_versions()

    torch.set_num_threads(1)
    rng = np.random.default_rng(PROMPT_SEED)
    prompts = [rng.integers(0, VOCAB_SIZE, size=n).astype(np.int64).tolist() for n in PROMPT_LENGTHS]
    vocab = build_vocab(VOCAB_SIZE)

    manifest = {
        "generator": "tools/make_tiny_models.py",
        "versions": versions,
        "logits_format": "HLOG: u32 n_prompts, u32 n_vocab, then per prompt u32 n_tokens, i32 ids[n], f32 logits[n*n_vocab]",
        "reference_precision": "HF forward pass in float64 on the exact stored weights, rounded to float32",
        "prompt_lengths": list(PROMPT_LENGTHS),
        "models": {},
    }

    hf_entries = {}
    for spec in MODELS:
        config, model = make_hf_model(spec)
        cfg = dict(spec["config"])
        cfg["vocab_size"] = VOCAB_SIZE
        sd = hf_state(model)

        if (cfg.get("rope_scaling") or {}).get("rope_type") == "llama3":
            hd = cfg["head_dim"]
            plain = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
            hf_inv = model.model.rotary_emb.inv_freq.float()
            mine = plain / torch.from_numpy(llama3_rope_factors(cfg))
            assert torch.allclose(mine, hf_inv, rtol=1e-6, atol=0), (mine, hf_inv)
            print(f"{spec['name']}: rope_freqs = {llama3_rope_factors(cfg).tolist()}")

        base_logits = None
        entry = {"hf_class": spec["hf_class"], "arch": spec["arch"], "seed": spec["seed"],
                 "config": {k: v for k, v in cfg.items()}, "files": {}}
        for tname in spec["types"]:
            stem = f"{spec['name']}-{tname}"
            gguf_path = out / f"{stem}.gguf"
            stored = write_gguf(gguf_path, spec, cfg, sd, tname, vocab)
            check_gguf_roundtrip(gguf_path, stored, spec, cfg)

            ref = getattr(transformers, spec["hf_class"])(config).eval()
            full = dict(stored)
            if config.tie_word_embeddings:
                full["lm_head.weight"] = full["model.embed_tokens.weight"]
            ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in full.items()}, strict=True)
            lg64 = run_logits(ref, prompts, torch.float64)
            lg32 = run_logits(ref, prompts, torch.float32)
            write_logits(out / f"{stem}.logits.bin", prompts, lg64, VOCAB_SIZE)
            if tname == "f32":
                base_logits = lg64

            flat = np.concatenate([x.ravel() for x in lg64])
            info = {
                "gguf": gguf_path.name, "gguf_bytes": gguf_path.stat().st_size,
                "gguf_sha256": sha256(gguf_path),
                "logits": f"{stem}.logits.bin",
                "logits_sha256": sha256(out / f"{stem}.logits.bin"),
                "logit_std": float(flat.std()), "logit_max_abs": float(np.abs(flat).max()),
                "max_abs_diff_hf_float32_vs_float64": float(max(np.abs(a - b).max() for a, b in zip(lg32, lg64))),
            }
            if tname != "f32" and base_logits is not None:
                info["max_abs_diff_vs_f32_model"] = float(max(np.abs(a - b).max() for a, b in zip(lg64, base_logits)))
            entry["files"][tname] = info
            print(f"{stem}: {json.dumps({k: v for k, v in info.items() if 'sha' not in k})}")
        manifest["models"][spec["name"]] = entry
        hf_dtype, hf_pre = HF_DIRS[spec["name"]]
        hf_entries[spec["name"]] = save_hf_dir(spec["name"], model, config, hf_dtype, hf_pre, prompts,
                                               out / f"{spec['name']}-f32.logits.bin")

    manifest["prompts"] = prompts
    update_hf_manifest(hf_entries, "tools/make_tiny_models.py", versions)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    worst = check_fixtures(out)
    assert worst < 1e-4, worst
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"total fixture bytes: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
