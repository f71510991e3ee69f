#!/usr/bin/env python3
"""Write tiny random-weight FP8 Hugging Face directories the way DeepSeek-V3/R1, Kimi-K2 and
Qwen3-*-FP8 are published, with transformers' reference logits on the dequantized weights.

Output: tests/fixtures/tiny_hf/deepseek3-fp8/ and tests/fixtures/tiny_hf/qwen3moe-fp8/, entered in
tests/fixtures/tiny_hf/manifest.json (read by tests/golden/test_hf_models.cpp like the others).

Pinned versions (tools/requirements-reference.txt):
    numpy==2.4.6  torch==2.15.0  transformers==4.57.6  safetensors==0.8.0  tokenizers==0.22.2
Usage:
    /work/venvs/reference/bin/python tools/make_tiny_fp8_models.py

Per model:
  1. a seeded random model (make_tiny_models.make_hf_model) with hidden sizes >= 128 that are not all
     multiples of 128, so weights span several 128x128 blocks with partial edge blocks;
  2. every linear weight of the attention and MLP blocks (experts and shared experts included) is
     quantized as DeepSeek's checkpoints are: per 128x128 block, scale = amax(|block|) / 448,
     value = (w / scale) cast to float8_e4m3fn, and the scale stored as the F32 tensor
     `<name>.weight_scale_inv`. Embeddings, lm_head, norms and the router (mlp.gate.weight) stay
     BF16 and e_score_correction_bias F32, as in the published files. config.json carries
     quantization_config {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128],
     "activation_scheme": "dynamic"}. deepseek3-fp8 is written as 2 shards with an index, one scale
     in a different shard from its weight;
  3. the reference dequantizes in Python as DeepSeek's fp8_cast_bf16 does
     (bf16(float(value) * scale_inv), edge blocks cut), loads those weights into the transformers
     model and records float64 logits at every position of the 4 prompts (routing margins checked).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_models as base  # noqa: E402
import make_tiny_moe_models as moe  # noqa: E402

torch = None
transformers = None

BLOCK = 128
FP8_MAX = 448.0
QUANT_CONFIG = {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [BLOCK, BLOCK],
                "activation_scheme": "dynamic"}

MODELS = [
    dict(
        # DeepSeek-V3 with q low-rank; hidden 160 (128 + 32 columns), dense FFN 144 rows, q_lora 136,
        # kv_b 128 rows exactly: full, row-edge, column-edge and corner blocks all occur.
        name="deepseek3-fp8", arch="deepseek2", hf_class="DeepseekV3ForCausalLM", config_class="DeepseekV3Config",
        seed=71, pre="deepseek-v3", shards=2, router_scale=0.25,
        config=dict(hidden_size=160, intermediate_size=144, moe_intermediate_size=48, num_hidden_layers=2,
                    num_attention_heads=2, num_key_value_heads=2, n_shared_experts=1, n_routed_experts=4,
                    routed_scaling_factor=2.5, kv_lora_rank=64, q_lora_rank=136, qk_rope_head_dim=16,
                    v_head_dim=32, qk_nope_head_dim=32, n_group=2, topk_group=1, num_experts_per_tok=2,
                    first_k_dense_replace=1, norm_topk_prob=True, rms_norm_eps=1e-6, rope_theta=10000.0,
                    max_position_embeddings=256, tie_word_embeddings=False, rope_interleave=True,
                    rope_scaling=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=64,
                                      beta_fast=32, beta_slow=1, mscale=1.0, mscale_all_dim=1.0),
                    initializer_range=0.2),
    ),
    dict(
        # Qwen3-MoE as Qwen3-30B-A3B-FP8: q 128 rows, k/v 64 rows, hidden 160 columns, experts 48 rows.
        name="qwen3moe-fp8", arch="qwen3moe", hf_class="Qwen3MoeForCausalLM", config_class="Qwen3MoeConfig",
        seed=72, pre="qwen2", shards=1,
        config=dict(hidden_size=160, intermediate_size=144, moe_intermediate_size=48, num_hidden_layers=2,
                    num_attention_heads=2, num_key_value_heads=1, head_dim=64, num_experts=4,
                    num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
                    rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=256,
                    tie_word_embeddings=True, use_sliding_window=False, initializer_range=0.2),
    ),
]


def min_chosen_choice_score(spec: dict, cfg: dict, caps) -> float:
    """transformers' DeepseekV3 router drops the experts of unkept groups by filling their choice
    scores (sigmoid + correction bias) with 0.0, where DeepSeek's reference code, llama.cpp and
    hearth use -inf. The two agree only while every chosen expert's choice score is above 0; this
    returns the smallest chosen one (+inf for softmax routers, which never go below 0)."""
    if spec["hf_class"] != "DeepseekV3ForCausalLM":
        return float("inf")
    k, groups, kept = cfg["num_experts_per_tok"], cfg["n_group"], cfg["topk_group"]
    worst = float("inf")
    for h, W, bias in caps:
        c = 1.0 / (1.0 + np.exp(-(h @ W.T))) + bias
        g = c.reshape(len(c), groups, -1)
        gs = np.sort(g, axis=2)[:, :, -2:].sum(axis=2)
        keep = np.argsort(-gs, axis=1)[:, :kept]
        mask = np.zeros_like(gs, dtype=bool)
        np.put_along_axis(mask, keep, True, axis=1)
        masked = np.where(np.repeat(mask, g.shape[2], axis=1), c, -np.inf)
        worst = min(worst, float(np.sort(masked, axis=1)[:, -k].min()))
    return worst


def quantized(name: str) -> bool:
    """The tensors DeepSeek's FP8 checkpoints store as F8_E4M3: 2-D projections of attention and MLP."""
    if not name.endswith(".weight") or ".layers." not in name:
        return False
    return name.endswith("_proj.weight") or name.endswith("kv_a_proj_with_mqa.weight")


def quantize_blocks(w: "torch.Tensor"):
    """w [rows, cols] float32 -> (float8_e4m3fn values, float32 scale_inv [ceil(rows/128), ceil(cols/128)])."""
    rows, cols = w.shape
    br, bc = -(-rows // BLOCK), -(-cols // BLOCK)
    q = torch.empty(rows, cols, dtype=torch.float8_e4m3fn)
    s = torch.empty(br, bc, dtype=torch.float32)
    for i in range(br):
        for j in range(bc):
            blk = w[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK]
            scale = blk.abs().max().clamp(min=1e-12) / FP8_MAX
            q[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = (blk / scale).to(torch.float8_e4m3fn)
            s[i, j] = scale
    return q, s


def dequantize_blocks(q: "torch.Tensor", s: "torch.Tensor") -> "torch.Tensor":
    """The reference: each block's values times its scale, in float32, rounded to bfloat16."""
    rows, cols = q.shape
    full = s.repeat_interleave(BLOCK, 0)[:rows].repeat_interleave(BLOCK, 1)[:, :cols]
    return (q.to(torch.float32) * full).to(torch.bfloat16)


def write_dir(spec: dict, model, config, prompts) -> dict:
    from safetensors.torch import save_file
    d = base.HF_ROOT / spec["name"]
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    stored: dict[str, torch.Tensor] = {}
    reference: dict[str, torch.Tensor] = {}
    n_blocks = edge_blocks = 0
    for name, t in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        t = t.detach().to(torch.float32).contiguous()
        if quantized(name):
            q, s = quantize_blocks(t)
            stored[name], stored[name + "_scale_inv"] = q, s
            reference[name] = dequantize_blocks(q, s)
            err = (reference[name].float() - t).abs().max() / t.abs().max()
            assert err < 0.07, (name, float(err))  # e4m3 keeps 3 mantissa bits
            n_blocks += s.numel()
            edge_blocks += s.numel() - (t.shape[0] // BLOCK) * (t.shape[1] // BLOCK)
        elif name.endswith("e_score_correction_bias"):
            stored[name] = reference[name] = t
        else:
            stored[name] = reference[name] = t.to(torch.bfloat16)

    names = sorted(stored)
    if spec["shards"] == 1:
        save_file(stored, str(d / "model.safetensors"), metadata={"format": "pt"})
    else:
        # Split so that at least one weight and its scale land in different shards.
        half = len(names) // 2
        while not names[half - 1].endswith(".weight") or names[half] != names[half - 1] + "_scale_inv":
            half += 1
        parts = [names[:half], names[half:]]
        weight_map = {}
        for k, part in enumerate(parts):
            fn = f"model-{k + 1:05d}-of-{len(parts):05d}.safetensors"
            save_file({n: stored[n] for n in part}, str(d / fn), metadata={"format": "pt"})
            weight_map.update({n: fn for n in part})
        total = sum(v.numel() * v.element_size() for v in stored.values())
        (d / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=1) + "\n")

    config.to_json_file(str(d / "config.json"))
    cj = json.loads((d / "config.json").read_text())
    cj["architectures"] = [spec["hf_class"]]  # save_pretrained would record the model class
    cj["quantization_config"] = QUANT_CONFIG
    cj["torch_dtype"] = "bfloat16"
    cj.pop("dtype", None)
    (d / "config.json").write_text(json.dumps(cj, indent=2, sort_keys=True) + "\n")
    base.write_hf_tokenizer(d, spec["pre"])

    ref = getattr(transformers, spec["hf_class"])(config).eval()
    full = {k: v.to(torch.float32) for k, v in reference.items()}
    if config.tie_word_embeddings:
        full["lm_head.weight"] = full["model.embed_tokens.weight"]
    ref.load_state_dict(full, strict=True)
    entry = {"dtype": "fp8", "pre": spec["pre"], "bytes": sum(p.stat().st_size for p in d.iterdir()),
             "fp8_blocks": n_blocks, "fp8_edge_blocks": edge_blocks}
    cfg = dict(spec["config"], vocab_size=base.VOCAB_SIZE)
    margin = moe.routing_margin(spec, cfg, moe.capture_gate_inputs(ref, spec, prompts))
    assert margin > moe.MIN_ROUTING_MARGIN, f"{spec['name']}: routing near-tie (margin {margin:.3g}); change the seed"
    entry["min_routing_margin"] = margin
    chosen = min_chosen_choice_score(spec, cfg, moe.capture_gate_inputs(ref, spec, prompts))
    assert chosen > 1e-3, f"{spec['name']}: a chosen expert scores {chosen:.3g} <= 0, where transformers' 0.0 fill differs"
    lg64 = base.run_logits(ref, prompts, torch.float64)
    base.write_logits(d / "reference.logits.bin", prompts, lg64, base.VOCAB_SIZE)
    entry["logits"] = f"tiny_hf/{spec['name']}/reference.logits.bin"
    entry["bytes"] = sum(p.stat().st_size for p in d.iterdir())
    assert edge_blocks > 0 and n_blocks > edge_blocks
    assert entry["bytes"] < 700_000, entry["bytes"]
    print(f"tiny_hf/{spec['name']}: {json.dumps(entry)}")
    return entry


def main() -> int:
    global torch, transformers
    import torch
    import transformers
    base.torch, base.transformers = torch, transformers
    moe.torch, moe.transformers = torch, transformers
    versions = base.check_versions()
    torch.set_num_threads(1)
    moe.patch_routers()
    rng = np.random.default_rng(base.PROMPT_SEED)
    prompts = [rng.integers(0, base.VOCAB_SIZE, size=n).astype(np.int64).tolist() for n in base.PROMPT_LENGTHS]
    entries = {}
    for spec in MODELS:
        config, model = base.make_hf_model(spec)
        with torch.no_grad():  # smaller router logits keep sigmoid + bias above 0 (see min_chosen_choice_score)
            for name, p in model.named_parameters():
                if name.endswith("mlp.gate.weight"):
                    p.mul_(spec.get("router_scale", 1.0))
        entries[spec["name"]] = write_dir(spec, model, config, prompts)
    base.update_hf_manifest(entries, "tools/make_tiny_fp8_models.py", versions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
