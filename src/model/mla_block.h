#pragma once
// Multi-head latent attention (DeepSeek-V2/V3, Kimi-K2, Moonlight).
//
// Per token: q = W_q x (or W_qb norm(W_qa x) with a q low-rank), split per head into
// q_nope | q_pe; [c | k_pe] = W_kva x, c = norm(c). The cache keeps only c (kv_lora_rank)
// and roped k_pe (qk_rope, shared by all heads). Head h's key is [W_kb[h] c | k_pe] and its
// value W_vb[h] c.
//   naive:    decompress keys and values of every cached position, ordinary attention.
//   absorbed: fold W_kb[h] into the query (q_abs = W_kb[h]^T q_nope, scores q_abs.c +
//             q_pe.k_pe) and attend over the latent rows directly (one shared "kv head" of
//             width kv_lora_rank + qk_rope), then apply W_vb[h] to the attended latent.
// Both give the same result up to float rounding (tests/golden/test_tiny_moe_models.cpp).
#include <vector>

#include "backend/cpu/matmul.h"
#include "model/blocks.h"

namespace hearth::model {

struct MlaWeights {
    std::vector<float> norm;              // attn_norm
    backend::cpu::Weight wq;              // attn_q (no q low-rank), or:
    backend::cpu::Weight wq_a, wq_b;      // attn_q_a, attn_q_b
    std::vector<float> q_a_norm;          // attn_q_a_norm
    backend::cpu::Weight wkv_a;           // attn_kv_a_mqa: kv_lora_rank + qk_rope rows
    std::vector<float> kv_a_norm;         // attn_kv_a_norm
    // K up-projection. kb_layout (attn_k_b, as current converters write it): per head
    // kv_lora_rank rows of qk_nope, i.e. W_kb[h]^T. Otherwise (older files' attn_kv_b):
    // per head qk_nope rows of kv_lora_rank, stored at row h*(qk_nope+v_head).
    backend::cpu::Weight k_up;
    bool kb_layout = true;
    // V up-projection: per head v_head rows of kv_lora_rank (attn_v_b, or inside attn_kv_b).
    backend::cpu::Weight v_up;
    backend::cpu::Weight wo;              // attn_output
};

enum class MlaMode { kAuto, kNaive, kAbsorbed };
// Process-wide choice of the MLA form (tests compare them). kAuto: whichever does less work
// for the batch size (absorbed for decode; naive for long prompt chunks of large models).
void set_mla_mode(MlaMode mode);
MlaMode mla_mode();

void mla_attention_block(const HParams& hp, const MlaWeights& w, int64_t layer, ForwardBatch& b, float* x);

}  // namespace hearth::model
