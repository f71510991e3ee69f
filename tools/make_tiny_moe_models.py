#!/usr/bin/env python3
"""Generate tiny random-weight Mixture-of-Experts / MLA GGUF models plus reference logits from
Hugging Face transformers.

Output: tests/fixtures/tiny_moe/ (see the README.md there), and each model as a Hugging Face
directory in tests/fixtures/tiny_hf/ (make_tiny_models.save_hf_dir). Same toy byte-level tokenizer, prompts,
HLOG logits format and pinned versions as tools/make_tiny_models.py, whose helpers are imported.

Pinned versions (tools/requirements-reference.txt):
    gguf==0.19.0  numpy==2.4.6  torch==2.15.0  transformers==4.57.6

Usage:
    /tmp/ref/bin/python tools/make_tiny_moe_models.py [--out tests/fixtures/tiny_moe]

Per model: build the HF model with seeded random weights (norm gains ~1, biases and the DeepSeek-V3
/ GLM e_score_correction_bias randomised too), write it as GGUF exactly as llama.cpp's
convert_hf_to_gguf.py does (tensor names, experts stacked into 3-D [n_expert, rows, cols] tensors,
MLA kv_b_proj split into attn_k_b (transposed per head) and attn_v_b, e_score_correction_bias ->
exp_probs_b.bias, ffn_gate_inp kept F32, metadata keys incl. the MLA "MQA view" key/value lengths
and *_mla lengths, YaRN keys with yarn_log_multiplier = 0.1 * mscale_all_dim), read back the
exact stored values, load them into the HF model and record its float64 logits at every position
of the 4 prompts. The script also checks that no routing decision of the reference sits on a
near-tie (so float32 engines choose the same experts) and that HF's YaRN inverse frequencies equal
the per-frequency factors hearth derives from the GGUF keys.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_models as base  # noqa: E402  (vocab, prompts, HLOG writer, pins)

torch = None
transformers = None

QT = gguf.GGMLQuantizationType
VOCAB_SIZE = base.VOCAB_SIZE
MIN_ROUTING_MARGIN = 2e-5  # scores; float32 engines differ from the reference by ~1e-7 there

# All 2-D/3-D row lengths (ne0) are multiples of 32 so every weight can be stored as Q8_0.
MODELS = [
    dict(
        # DeepSeek-V3 layout: q low-rank, sigmoid scores + correction bias, group-limited top-k
        # (4 groups of 2, 2 groups kept), renormalised, routed_scaling_factor, 1 shared expert,
        # first layer dense, YaRN (factor 4 over an original context of 64: the 16 rope dims span
        # the extrapolated, ramped and interpolated regimes) with mscale = mscale_all_dim = 1.
        name="deepseek3", arch="deepseek2", hf_class="DeepseekV3ForCausalLM", config_class="DeepseekV3Config",
        seed=41, types=("f32", "q8_0"),
        config=dict(hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=3,
                    num_attention_heads=4, num_key_value_heads=4, n_shared_experts=1, n_routed_experts=8,
                    routed_scaling_factor=2.5, kv_lora_rank=32, q_lora_rank=32, qk_rope_head_dim=16,
                    v_head_dim=32, qk_nope_head_dim=32, n_group=4, topk_group=2, num_experts_per_tok=2,
                    first_k_dense_replace=1, norm_topk_prob=True, rms_norm_eps=1e-6, rope_theta=10000.0,
                    max_position_embeddings=256, tie_word_embeddings=False, rope_interleave=True,
                    rope_scaling=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=64,
                                      beta_fast=32, beta_slow=1, mscale=1.0, mscale_all_dim=1.0),
                    initializer_range=0.2),
    ),
    dict(
        # DeepSeek-V3 / Kimi-K2 style without q low-rank (q_proj), mscale 0.707 as V2-Lite's config,
        # one group (plain top-k), 3 of 8 experts.
        name="deepseek3-noqlora", arch="deepseek2", hf_class="DeepseekV3ForCausalLM", config_class="DeepseekV3Config",
        seed=42, types=("f32",),
        config=dict(hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=4, n_shared_experts=1, n_routed_experts=8,
                    routed_scaling_factor=1.8, kv_lora_rank=32, q_lora_rank=None, qk_rope_head_dim=16,
                    v_head_dim=32, qk_nope_head_dim=32, n_group=1, topk_group=1, num_experts_per_tok=3,
                    first_k_dense_replace=1, norm_topk_prob=True, rms_norm_eps=1e-6, rope_theta=10000.0,
                    max_position_embeddings=256, tie_word_embeddings=False, rope_interleave=True,
                    rope_scaling=dict(rope_type="yarn", factor=8.0, original_max_position_embeddings=32,
                                      beta_fast=32, beta_slow=1, mscale=0.707, mscale_all_dim=0.707),
                    initializer_range=0.2),
    ),
    dict(
        # DeepSeek-V2 layout: softmax scores, group_limited_greedy (groups scored by their best
        # expert), no renormalisation, routed_scaling_factor, 2 shared experts, q low-rank.
        # No rope scaling: transformers' DeepseekV2 port omits YaRN's mscale^2 on the softmax
        # scale that DeepSeek's own code and llama.cpp apply, so YaRN is tested with V3 only.
        name="deepseek2", arch="deepseek2", hf_class="DeepseekV2ForCausalLM", config_class="DeepseekV2Config",
        seed=44, types=("f32",),
        config=dict(hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=4, n_shared_experts=2, n_routed_experts=8,
                    routed_scaling_factor=1.5, kv_lora_rank=32, q_lora_rank=32, qk_rope_head_dim=16,
                    v_head_dim=32, qk_nope_head_dim=32, n_group=4, topk_group=2, num_experts_per_tok=2,
                    topk_method="group_limited_greedy", first_k_dense_replace=1, norm_topk_prob=False,
                    rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=256,
                    tie_word_embeddings=False, initializer_range=0.2),
    ),
    dict(
        # Qwen3-MoE: softmax top-2 of 8, renormalised; per-head q/k norms; every layer MoE
        # (llama.cpp's qwen3moe has no dense layers).
        name="qwen3moe", arch="qwen3moe", hf_class="Qwen3MoeForCausalLM", config_class="Qwen3MoeConfig",
        seed=51, types=("f32",),
        config=dict(hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=32, num_experts=8,
                    num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
                    rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=256,
                    tie_word_embeddings=False, use_sliding_window=False, initializer_range=0.2),
    ),
    dict(
        # GLM-4.5: partial rotary (half of head_dim 32, NEOX pairs), q/k/v biases, q/k norms,
        # sigmoid + correction bias, 2 groups with 1 kept, renormalised, scaled, 1 shared expert,
        # first layer dense, and one MTP (nextn) block appended as real files have it.
        name="glm4moe", arch="glm4moe", hf_class="Glm4MoeForCausalLM", config_class="Glm4MoeConfig",
        seed=61, types=("f32",), nextn=1,
        config=dict(hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=32, partial_rotary_factor=0.5,
                    n_shared_experts=1, n_routed_experts=8, routed_scaling_factor=2.5, n_group=2, topk_group=1,
                    num_experts_per_tok=2, first_k_dense_replace=1, norm_topk_prob=True, use_qk_norm=True,
                    attention_bias=True, rms_norm_eps=1e-5, rope_theta=1000000.0,
                    max_position_embeddings=256, tie_word_embeddings=False, initializer_range=0.2),
    ),
]

# tests/fixtures/tiny_hf/<name>/ (see make_tiny_models.save_hf_dir): safetensors dtype and the
# pre-tokenizer of its tokenizer.json. F32 where the directory stays under 1 MB (same reference
# logits as the GGUF file), else BF16; F16 once so every float dtype is imported.
HF_DIRS = {"deepseek3": ("bf16", "deepseek-v3"), "deepseek3-noqlora": ("f32", "deepseek-v3"),
           "deepseek2": ("f32", "gpt-2"), "qwen3moe": ("f16", "qwen2"), "glm4moe": ("bf16", "smollm")}

# ----------------------------------------------------------------------------------------------
# HF <-> GGUF names

LAYER_MAP = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "self_attn.q_a_proj.weight": "attn_q_a.weight",
    "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight",
    "self_attn.q_b_proj.weight": "attn_q_b.weight",
    "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight",
    "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "mlp.gate.weight": "ffn_gate_inp.weight",
    "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
    "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight",
    "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
    "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight",
}
EXPERT_MAP = {"gate_proj": "ffn_gate_exps.weight", "up_proj": "ffn_up_exps.weight", "down_proj": "ffn_down_exps.weight"}
# Kept F32 in quantized files by convert_hf_to_gguf.py (besides every 1-D tensor).
KEEP_F32 = ("ffn_gate_inp.weight",)


def layer_map(arch: str) -> dict[str, str]:
    m = dict(LAYER_MAP)
    if arch == "glm4moe":  # gguf's tensor map sends GLM4_MOE's post_attention_layernorm to ATTN_POST_NORM
        m["post_attention_layernorm.weight"] = "post_attention_norm.weight"
    return m


def to_gguf(sd: dict[str, np.ndarray], cfg: dict, arch: str) -> dict[str, np.ndarray]:
    """HF state dict -> GGUF tensors (numpy shapes: row-major, last axis = GGUF ne0)."""
    lmap = layer_map(arch)
    out: dict[str, np.ndarray] = {}
    experts: dict[tuple[int, str], dict[int, np.ndarray]] = {}
    for name, arr in sd.items():
        if name == "model.embed_tokens.weight":
            out["token_embd.weight"] = arr
            continue
        if name == "model.norm.weight":
            out["output_norm.weight"] = arr
            continue
        if name == "lm_head.weight":
            out["output.weight"] = arr
            continue
        parts = name.split(".")
        assert parts[0] == "model" and parts[1] == "layers", name
        bid, rest = int(parts[2]), ".".join(parts[3:])
        if rest.startswith("mlp.experts."):
            _, _, xid, proj, _ = rest.split(".")
            experts.setdefault((bid, proj), {})[int(xid)] = arr
            continue
        if rest == "self_attn.kv_b_proj.weight":
            # convert_hf_to_gguf.py: view as [n_head, nope + v, kv_lora], split, transpose k_b.
            H, nope, v = cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["v_head_dim"]
            kv_b = arr.reshape(H, nope + v, arr.shape[-1])
            out[f"blk.{bid}.attn_k_b.weight"] = np.ascontiguousarray(kv_b[:, :nope, :].transpose(0, 2, 1))
            out[f"blk.{bid}.attn_v_b.weight"] = np.ascontiguousarray(kv_b[:, nope:, :])
            continue
        out[f"blk.{bid}.{lmap[rest]}"] = arr
    for (bid, proj), d in sorted(experts.items()):
        out[f"blk.{bid}.{EXPERT_MAP[proj]}"] = np.stack([d[i] for i in range(len(d))], axis=0)
    return out


def from_gguf(gd: dict[str, np.ndarray], cfg: dict, hf_names, arch: str) -> dict[str, np.ndarray]:
    """Inverse of to_gguf for the names of the HF model (GGUF-only extras such as MTP blocks are dropped)."""
    lmap = layer_map(arch)
    sd: dict[str, np.ndarray] = {}
    for name in hf_names:
        if name == "model.embed_tokens.weight":
            sd[name] = gd["token_embd.weight"]
        elif name == "model.norm.weight":
            sd[name] = gd["output_norm.weight"]
        elif name == "lm_head.weight":
            sd[name] = gd["output.weight"]
        else:
            parts = name.split(".")
            bid, rest = int(parts[2]), ".".join(parts[3:])
            if rest.startswith("mlp.experts."):
                _, _, xid, proj, _ = rest.split(".")
                sd[name] = gd[f"blk.{bid}.{EXPERT_MAP[proj]}"][int(xid)]
            elif rest == "self_attn.kv_b_proj.weight":
                k_b = gd[f"blk.{bid}.attn_k_b.weight"].transpose(0, 2, 1)
                v_b = gd[f"blk.{bid}.attn_v_b.weight"]
                kv = np.concatenate([k_b, v_b], axis=1)
                sd[name] = np.ascontiguousarray(kv.reshape(-1, kv.shape[-1]))
            else:
                sd[name] = gd[f"blk.{bid}.{lmap[rest]}"]
    return sd


def mtp_block(spec: dict, cfg: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random tensors of a GLM-4.5 MTP (nextn) block, as the converter stores blk.{n_layer}.*"""
    d, H, Hkv, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    E, ff = cfg["n_routed_experts"], cfg["moe_intermediate_size"]
    b = f"blk.{cfg['num_hidden_layers']}."
    r = lambda *s: (0.2 * rng.standard_normal(s)).astype(np.float32)  # noqa: E731
    one = lambda n: (1.0 + 0.25 * rng.standard_normal(n)).astype(np.float32)  # noqa: E731
    t = {
        b + "attn_norm.weight": one(d), b + "attn_q.weight": r(H * hd, d), b + "attn_q.bias": r(H * hd),
        b + "attn_k.weight": r(Hkv * hd, d), b + "attn_k.bias": r(Hkv * hd), b + "attn_v.weight": r(Hkv * hd, d),
        b + "attn_v.bias": r(Hkv * hd), b + "attn_output.weight": r(d, H * hd),
        b + "attn_q_norm.weight": one(hd), b + "attn_k_norm.weight": one(hd),
        b + "post_attention_norm.weight": one(d), b + "ffn_gate_inp.weight": r(E, d), b + "exp_probs_b.bias": r(E),
        b + "ffn_gate_exps.weight": r(E, ff, d), b + "ffn_up_exps.weight": r(E, ff, d),
        b + "ffn_down_exps.weight": r(E, d, ff), b + "ffn_gate_shexp.weight": r(ff, d),
        b + "ffn_up_shexp.weight": r(ff, d), b + "ffn_down_shexp.weight": r(d, ff),
        b + "nextn.eh_proj.weight": r(d, 2 * d), b + "nextn.enorm.weight": one(d), b + "nextn.hnorm.weight": one(d),
        b + "nextn.shared_head_norm.weight": one(d),
    }
    return t


# ----------------------------------------------------------------------------------------------

# The HF model (seeded random weights, routing-bias buffers included) and its state dict come from
# make_tiny_models.py: base.make_hf_model / base.hf_state.


def yarn_factors(rope_dims, base_, factor, orig_ctx, beta_fast, beta_slow, ext_factor=1.0):
    """What hearth (backend/cpu/rope_yarn.cpp) and llama.cpp derive from the GGUF keys."""
    def corr(n_rot):
        return rope_dims * math.log(orig_ctx / (n_rot * 2 * math.pi)) / (2 * math.log(base_))
    low = max(0.0, math.floor(corr(beta_fast)))
    high = min(rope_dims - 1.0, math.ceil(corr(beta_slow)))
    out = []
    for i in range(rope_dims // 2):
        y = (i - low) / max(0.001, high - low)
        ramp = (1.0 - min(1.0, max(0.0, y))) * ext_factor
        out.append(1.0 / (ramp + (1.0 - ramp) / factor))
    return np.array(out)


def write_gguf(path: Path, spec: dict, cfg: dict, gtensors: dict[str, np.ndarray], ftype_name: str, vocab):
    """Writes the file; returns {gguf name: exact stored values as float32}."""
    arch = spec["arch"]
    wtype, file_type = base.FILE_TYPES[ftype_name]
    tokens, toktypes, merges, bos_id, eos_id = vocab
    nextn = spec.get("nextn", 0)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"hearth-tiny-{spec['name']}")
    w.add_block_count(cfg["num_hidden_layers"] + nextn)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_expert_used_count(cfg["num_experts_per_tok"])
    if arch == "qwen3moe":
        w.add_head_count_kv(cfg["num_key_value_heads"])
        w.add_key_length(cfg["head_dim"])
        w.add_value_length(cfg["head_dim"])
        w.add_expert_count(cfg["num_experts"])
        w.add_expert_feed_forward_length(cfg["moe_intermediate_size"])
    elif arch == "glm4moe":
        w.add_head_count_kv(cfg["num_key_value_heads"])
        w.add_key_length(cfg["head_dim"])
        w.add_value_length(cfg["head_dim"])
        w.add_rope_dimension_count(int(cfg["head_dim"] * cfg["partial_rotary_factor"]))
        w.add_expert_count(cfg["n_routed_experts"])
        w.add_expert_group_count(cfg["n_group"])
        w.add_expert_group_used_count(cfg["topk_group"])
        w.add_expert_feed_forward_length(cfg["moe_intermediate_size"])
        w.add_expert_shared_count(cfg["n_shared_experts"])
        w.add_leading_dense_block_count(cfg["first_k_dense_replace"])
        w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
        w.add_expert_weights_scale(cfg["routed_scaling_factor"])
        w.add_expert_weights_norm(cfg["norm_topk_prob"])
        w.add_nextn_predict_layers(nextn)
    elif arch == "deepseek2":
        # MLA is written as MQA with one latent "kv head" (convert_hf_to_gguf.py DeepseekV2Model).
        L, R = cfg["kv_lora_rank"], cfg["qk_rope_head_dim"]
        w.add_head_count_kv(1)
        w.add_expert_count(cfg["n_routed_experts"])
        w.add_expert_group_count(cfg["n_group"])
        w.add_expert_group_used_count(cfg["topk_group"])
        w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID if spec["hf_class"].startswith("DeepseekV3")
                                 else gguf.ExpertGatingFuncType.SOFTMAX)
        w.add_leading_dense_block_count(cfg["first_k_dense_replace"])
        w.add_vocab_size(VOCAB_SIZE)
        if cfg.get("q_lora_rank") is not None:
            w.add_q_lora_rank(cfg["q_lora_rank"])
        w.add_kv_lora_rank(L)
        w.add_key_length(L + R)
        w.add_value_length(L)
        w.add_key_length_mla(cfg["qk_nope_head_dim"] + R)
        w.add_value_length_mla(cfg["v_head_dim"])
        w.add_expert_feed_forward_length(cfg["moe_intermediate_size"])
        w.add_expert_shared_count(cfg["n_shared_experts"])
        w.add_expert_weights_scale(cfg["routed_scaling_factor"])
        if cfg.get("norm_topk_prob"):
            w.add_expert_weights_norm(True)
        w.add_rope_dimension_count(R)
        rs = cfg.get("rope_scaling")
        if rs and rs.get("rope_type") == "yarn":
            w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
            w.add_rope_scaling_factor(rs["factor"])
            w.add_rope_scaling_orig_ctx_len(rs["original_max_position_embeddings"])
            w.add_rope_scaling_yarn_beta_fast(rs["beta_fast"])
            w.add_rope_scaling_yarn_beta_slow(rs["beta_slow"])
            w.add_rope_scaling_yarn_log_mul(0.1 * rs["mscale_all_dim"])
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
    for name, data in gtensors.items():
        if data.ndim == 1 or wtype == QT.F32 or name.endswith(KEEP_F32):
            w.add_tensor(name, np.ascontiguousarray(data, dtype=np.float32))
            back = data.astype(np.float32)
        else:
            assert wtype == QT.Q8_0 and data.shape[-1] % 32 == 0, (name, data.shape)
            q = gguf.quants.quantize(np.ascontiguousarray(data, dtype=np.float32), wtype)
            w.add_tensor(name, q, raw_dtype=wtype)
            back = gguf.quants.dequantize(q, wtype).reshape(data.shape).astype(np.float32)
        stored[name] = back
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = gguf.GGUFReader(str(path))  # round trip: what a reader sees is what was meant
    for t in r.tensors:
        got = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(stored[t.name].shape)
        assert np.array_equal(got.astype(np.float32), stored[t.name]), t.name
    return stored


# ----------------------------------------------------------------------------------------------
# Routing margins: recompute each MoE layer's choice from the gate inputs HF saw (float64) and
# require a clear gap between the last chosen and the first rejected candidate (groups too).

def routing_margin(spec: dict, cfg: dict, gate_inputs: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]) -> float:
    worst = math.inf
    k = cfg["num_experts_per_tok"]
    sigmoid = spec["hf_class"] in ("DeepseekV3ForCausalLM", "Glm4MoeForCausalLM")
    groups = cfg.get("n_group") or 1
    kept = cfg.get("topk_group") or 1
    for h, W, bias in gate_inputs:
        logits = h @ W.T
        for lg in logits:
            if sigmoid:
                s = 1.0 / (1.0 + np.exp(-lg))
            else:
                s = np.exp(lg - lg.max())
                s /= s.sum()
            c = s + (bias if bias is not None else 0.0)
            if groups > 1 and kept < groups:
                g = c.reshape(groups, -1)
                gs = np.sort(g, axis=1)[:, -2:].sum(axis=1) if sigmoid else g.max(axis=1)
                order = np.sort(gs)[::-1]
                worst = min(worst, order[kept - 1] - order[kept])
                mask = np.zeros(groups, bool)
                mask[np.argsort(-gs)[:kept]] = True
                c = np.where(np.repeat(mask, g.shape[1]), c, -np.inf)
            cs = np.sort(c)[::-1]
            worst = min(worst, cs[k - 1] - cs[k])
    return float(worst)


def capture_gate_inputs(model, spec: dict, prompts) -> list:
    caps = []
    hooks = []
    for mod_name, mod in model.named_modules():
        if mod_name.endswith("mlp.gate"):
            W = mod.weight.detach().double().numpy()
            bias = getattr(mod, "e_score_correction_bias", None)
            bias = bias.detach().double().numpy() if bias is not None else None

            def hook(m, inp, out, W=W, bias=bias):
                caps.append((inp[0].detach().double().reshape(-1, W.shape[1]).numpy(), W, bias))
            hooks.append(mod.register_forward_hook(hook))
    model.to(torch.float64)
    with torch.no_grad():
        for ids in prompts:
            model(input_ids=torch.tensor([ids]), use_cache=False)
    for hk in hooks:
        hk.remove()
    model.to(torch.float32)
    return caps


# transformers computes the DeepSeek / GLM router logits in float32 whatever the model dtype (and
# DeepseekV3/Glm4Moe then fail to run in float64 at all). For a float64 reference the routers are
# re-declared with the same logic in the hidden states' dtype; nothing else changes.

def _sigmoid_router_forward(self, hidden_states):
    hidden_states = hidden_states.view(-1, self.config.hidden_size)
    router_logits = torch.nn.functional.linear(hidden_states, self.weight.to(hidden_states.dtype))
    scores = router_logits.sigmoid()
    topk_indices = self.get_topk_indices(scores)
    topk_weights = scores.gather(1, topk_indices)
    if self.norm_topk_prob:
        denominator = topk_weights.sum(dim=-1, keepdim=True) + 1e-20
        topk_weights /= denominator
    topk_weights = topk_weights * self.routed_scaling_factor
    return topk_indices, topk_weights


def _v2_gate_forward(self, hidden_states):
    batch_size, seq_len, hidden_dim = hidden_states.shape
    hidden_states = hidden_states.view(-1, hidden_dim)
    logits = torch.nn.functional.linear(hidden_states, self.weight.to(hidden_states.dtype), None)
    scores = logits.softmax(dim=-1)
    if self.topk_method == "greedy":
        topk_weight, topk_idx = torch.topk(scores, k=self.top_k, dim=-1, sorted=False)
    elif self.topk_method == "group_limited_greedy":
        group_scores = scores.view(batch_size * seq_len, self.num_group, -1).max(dim=-1).values
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = (group_mask.unsqueeze(-1)
                      .expand(batch_size * seq_len, self.num_group, self.num_experts // self.num_group)
                      .reshape(batch_size * seq_len, -1))
        tmp_scores = scores.masked_fill(~score_mask.bool(), 0.0)
        topk_weight, topk_idx = torch.topk(tmp_scores, k=self.top_k, dim=-1, sorted=False)
    topk_weight = topk_weight * self.routed_scaling_factor
    return topk_idx, topk_weight


def patch_routers():
    from transformers.models.deepseek_v2 import modeling_deepseek_v2 as v2
    from transformers.models.deepseek_v3 import modeling_deepseek_v3 as v3
    from transformers.models.glm4_moe import modeling_glm4_moe as glm
    v3.DeepseekV3TopkRouter.forward = _sigmoid_router_forward
    glm.Glm4MoeTopkRouter.forward = _sigmoid_router_forward
    v2.DeepseekV2MoEGate.forward = _v2_gate_forward


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/fixtures/tiny_moe"))
    args = ap.parse_args()
    out = Path(args.out)

    global torch, transformers
    import torch
    import transformers
    base.torch, base.transformers = torch, transformers  # its helpers use them
    out.mkdir(parents=True, exist_ok=True)
    versions = base.check_versions()

    torch.set_num_threads(1)
    patch_routers()
    rng = np.random.default_rng(base.PROMPT_SEED)
    prompts = [rng.integers(0, VOCAB_SIZE, size=n).astype(np.int64).tolist() for n in base.PROMPT_LENGTHS]
    vocab = base.build_vocab(VOCAB_SIZE)
    manifest = {
        "generator": "tools/make_tiny_moe_models.py",
        "versions": versions,
        "logits_format": "HLOG (see tests/fixtures/tiny/README.md)",
        "reference_precision": "HF forward pass in float64 on the exact stored weights, rounded to float32; "
                               "the DeepSeek-V2/V3 and GLM-4.5 routers (which transformers runs in float32) are "
                               "re-declared with identical logic in the model dtype (patch_routers)",
        "prompt_lengths": list(base.PROMPT_LENGTHS),
        "prompts": prompts,
        "models": {},
    }

    hf_entries = {}
    for spec in MODELS:
        config, model = base.make_hf_model(spec)
        cfg = dict(spec["config"])
        cfg["vocab_size"] = VOCAB_SIZE
        sd = base.hf_state(model)
        gt = to_gguf(sd, cfg, spec["arch"])
        back = from_gguf(gt, cfg, sd.keys(), spec["arch"])
        assert all(np.array_equal(back[k], sd[k]) for k in sd), "to_gguf/from_gguf are not inverse"
        if spec.get("nextn"):
            gt.update(mtp_block(spec, cfg, np.random.default_rng(spec["seed"] + 1000)))

        rs = cfg.get("rope_scaling")
        if rs and rs.get("rope_type") == "yarn":
            R = cfg["qk_rope_head_dim"]
            plain = 1.0 / (cfg["rope_theta"] ** (np.arange(0, R, 2, dtype=np.float64) / R))
            mine = plain / yarn_factors(R, cfg["rope_theta"], rs["factor"], rs["original_max_position_embeddings"],
                                        rs["beta_fast"], rs["beta_slow"])
            hf_inv = model.model.rotary_emb.inv_freq.double().numpy()
            assert np.allclose(mine, hf_inv, rtol=1e-6, atol=0), (mine, hf_inv)
            assert model.model.rotary_emb.attention_scaling == 1.0, model.model.rotary_emb.attention_scaling
            print(f"{spec['name']}: yarn factors {yarn_factors(R, cfg['rope_theta'], rs['factor'], rs['original_max_position_embeddings'], rs['beta_fast'], rs['beta_slow']).round(4).tolist()}")

        entry = {"hf_class": spec["hf_class"], "arch": spec["arch"], "seed": spec["seed"],
                 "config": cfg, "nextn_blocks_in_gguf": spec.get("nextn", 0), "files": {}}
        base_logits = None
        for tname in spec["types"]:
            stem = f"{spec['name']}-{tname}"
            gguf_path = out / f"{stem}.gguf"
            stored = write_gguf(gguf_path, spec, cfg, gt, tname, vocab)
            ref = getattr(transformers, spec["hf_class"])(config).eval()
            full = from_gguf(stored, cfg, sd.keys(), spec["arch"])
            ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in full.items()}, strict=True)
            margin = routing_margin(spec, cfg, capture_gate_inputs(ref, spec, prompts))
            assert margin > MIN_ROUTING_MARGIN, f"{stem}: routing near-tie (margin {margin:.3g}); change the seed"
            lg64 = base.run_logits(ref, prompts, torch.float64)
            lg32 = base.run_logits(ref, prompts, torch.float32)
            base.write_logits(out / f"{stem}.logits.bin", prompts, lg64, VOCAB_SIZE)
            if tname == "f32":
                base_logits = lg64
            flat = np.concatenate([x.ravel() for x in lg64])
            info = {
                "gguf": gguf_path.name, "gguf_bytes": gguf_path.stat().st_size, "gguf_sha256": base.sha256(gguf_path),
                "logits": f"{stem}.logits.bin", "logits_sha256": base.sha256(out / f"{stem}.logits.bin"),
                "logit_std": float(flat.std()), "logit_max_abs": float(np.abs(flat).max()),
                "min_routing_margin": margin,
                "max_abs_diff_hf_float32_vs_float64": float(max(np.abs(a - b).max() for a, b in zip(lg32, lg64))),
            }
            if tname != "f32" and base_logits is not None:
                info["max_abs_diff_vs_f32_model"] = float(max(np.abs(a - b).max() for a, b in zip(lg64, base_logits)))
            entry["files"][tname] = info
            print(f"{stem}: {json.dumps({k: v for k, v in info.items() if 'sha' not in k})}")
        manifest["models"][spec["name"]] = entry
        hf_dtype, hf_pre = HF_DIRS[spec["name"]]

        def margin_of(ref, spec=spec, cfg=cfg, name=spec["name"]):
            m = routing_margin(spec, cfg, capture_gate_inputs(ref, spec, prompts))
            assert m > MIN_ROUTING_MARGIN, f"tiny_hf/{name}: routing near-tie (margin {m:.3g})"
            return {"min_routing_margin": m}
        hf_entries[spec["name"]] = base.save_hf_dir(spec["name"], model, config, hf_dtype, hf_pre, prompts,
                                                    out / f"{spec['name']}-f32.logits.bin", check=margin_of)

    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    base.update_hf_manifest(hf_entries, "tools/make_tiny_moe_models.py", versions)
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"total fixture bytes: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
