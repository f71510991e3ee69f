#pragma once
// Hyper-parameters of a decoder-only transformer, read from GGUF metadata
// (`<arch>.block_count` ...). One struct for every family; fields a family does not use
// keep their neutral defaults.
#include <cstdint>
#include <string>

namespace hearth::format {
class GGUFFile;
}

namespace hearth::model {

// How rotary embedding pairs dimensions: kNormal rotates (x[2i], x[2i+1]) (GGUF llama files,
// whose q/k rows the converter permuted, and DeepSeek's MLA rope part), kNeox rotates
// (x[i], x[i + d/2]) (Qwen, GLM, as in HF).
enum class RopeStyle { kNormal, kNeox };

enum class RopeScaling { kNone, kLinear, kYarn };

// How router logits become expert scores (GGUF `expert_gating_func`: 1 softmax, 2 sigmoid).
enum class ExpertGating { kSoftmax = 1, kSigmoid = 2 };

struct HParams {
    std::string arch;
    int64_t n_layer = 0;     // transformer blocks that run (block_count minus MTP/nextn blocks)
    int64_t n_layer_file = 0;  // block_count as stored (includes nextn_predict_layers)
    int64_t n_embd = 0;
    int64_t n_ff = 0;        // dense FFN width (leading dense layers of MoE families)
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim_k = 0;  // per-head width of q and k (MLA: qk_nope + qk_rope)
    int64_t head_dim_v = 0;  // per-head width of v (MLA: v_head_dim)
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;
    float rms_eps = 1e-5f;
    float rope_base = 10000.0f;
    int64_t rope_dims = 0;  // rotated dimensions per head (== head_dim_k unless partial rotary / MLA)
    RopeStyle rope_style = RopeStyle::kNormal;
    RopeScaling rope_scaling = RopeScaling::kNone;
    float rope_scale_factor = 1.0f;  // positions are divided by it for kLinear; YaRN's factor s
    // YaRN (rope.scaling.*), as llama.cpp reads them.
    int64_t yarn_orig_ctx = 0;
    float yarn_beta_fast = 32.0f;
    float yarn_beta_slow = 1.0f;
    float yarn_ext_factor = 1.0f;
    float yarn_log_mul = 0.0f;  // rope.scaling.yarn_log_multiplier (DeepSeek: 0.1 * mscale_all_dim)

    // Mixture of experts (0 experts: dense model).
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;
    int64_t n_expert_shared = 0;
    int64_t n_ff_exp = 0;           // width of one routed expert
    int64_t n_ff_shexp = 0;         // width of the shared expert block (n_ff_exp * n_expert_shared)
    int64_t n_layer_dense_lead = 0; // leading blocks with a dense FFN
    int64_t n_expert_groups = 1;    // group-limited routing: groups, and groups kept per token
    int64_t n_group_used = 1;
    bool expert_weights_norm = false;  // renormalise the top-k weights to sum 1
    float expert_weights_scale = 1.0f; // routed_scaling_factor
    ExpertGating expert_gating = ExpertGating::kSoftmax;
    int64_t n_nextn = 0;            // trailing MTP blocks in the file, never run

    // Multi-head latent attention (DeepSeek-V2/V3).
    bool mla = false;
    int64_t q_lora_rank = 0;   // 0: q is a full projection (V2-Lite)
    int64_t kv_lora_rank = 0;
    int64_t qk_nope = 0;       // head_dim_k - rope_dims

    int64_t q_dim() const { return n_head * head_dim_k; }
    int64_t k_dim() const { return n_head_kv * head_dim_k; }
    int64_t v_dim() const { return n_head_kv * head_dim_v; }
    bool moe() const { return n_expert > 0; }
    // Width of one cached row per layer: MLA caches the normalised latent and the roped
    // shared key part; others cache K and V of every kv head.
    int64_t cache_k_width() const { return mla ? kv_lora_rank + rope_dims : k_dim(); }
    int64_t cache_v_width() const { return mla ? 0 : v_dim(); }
    // KV-cache bytes per token for an element size (2 for F16, 4 for F32).
    uint64_t kv_bytes_per_token(uint64_t elem_bytes) const {
        return static_cast<uint64_t>(n_layer) * static_cast<uint64_t>(cache_k_width() + cache_v_width()) * elem_bytes;
    }
    // YaRN's attention temperature (llama.cpp: 1 + yarn_log_mul * ln s); 1 otherwise.
    float yarn_mscale() const;
};

}  // namespace hearth::model
