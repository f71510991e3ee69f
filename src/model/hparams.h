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
// whose q/k rows the converter permuted), kNeox rotates (x[i], x[i + d/2]) (Qwen, as in HF).
enum class RopeStyle { kNormal, kNeox };

enum class RopeScaling { kNone, kLinear, kYarn };

struct HParams {
    std::string arch;
    int64_t n_layer = 0;
    int64_t n_embd = 0;
    int64_t n_ff = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim_k = 0;  // per-head width of q and k
    int64_t head_dim_v = 0;  // per-head width of v
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;
    float rms_eps = 1e-5f;
    float rope_base = 10000.0f;
    int64_t rope_dims = 0;  // rotated dimensions per head (== head_dim_k unless partial rotary)
    RopeStyle rope_style = RopeStyle::kNormal;
    RopeScaling rope_scaling = RopeScaling::kNone;
    float rope_scale_factor = 1.0f;  // positions are divided by it for kLinear

    int64_t q_dim() const { return n_head * head_dim_k; }
    int64_t k_dim() const { return n_head_kv * head_dim_k; }
    int64_t v_dim() const { return n_head_kv * head_dim_v; }
};

}  // namespace hearth::model
