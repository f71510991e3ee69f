#include "model/architecture.h"

#include <array>
#include <cmath>

#include "core/error.h"
#include "format/gguf.h"

namespace hearth::model {
namespace {

constexpr std::array<ArchSpec, 6> kArchs{{
    {"llama", "Llama / SmolLM / Mistral", RopeStyle::kNormal, false, false},
    {"qwen2", "Qwen2 / Qwen2.5 / DeepSeek-R1 distills", RopeStyle::kNeox, true, false},
    {"qwen3", "Qwen3 (dense)", RopeStyle::kNeox, false, true},
    // llama.cpp's qwen3moe graph always renormalises the top-k weights (real Qwen3-MoE
    // configs have norm_topk_prob = true, and the converter writes no key for it).
    {"qwen3moe", "Qwen3 MoE", RopeStyle::kNeox, false, true, AttentionKind::kStandard, true, ExpertGating::kSoftmax,
     true},
    // DeepSeek's rope part is interleaved (HF applies it to pairs (2i, 2i+1)); the converter
    // does not permute, so the normal (GPT-J) pairing is used on the unpermuted rows.
    {"deepseek2", "DeepSeek-V2/V3/R1, Kimi-K2, Moonlight", RopeStyle::kNormal, false, false, AttentionKind::kMla, true,
     ExpertGating::kSoftmax, false},
    {"glm4moe", "GLM-4.5 / 4.6 / Air", RopeStyle::kNeox, true, false, AttentionKind::kStandard, true,
     ExpertGating::kSigmoid, false, "post_attention_norm"},
}};

}  // namespace

float HParams::yarn_mscale() const {
    if (rope_scaling != RopeScaling::kYarn || rope_scale_factor <= 1.0f) return 1.0f;
    return 1.0f + yarn_log_mul * std::log(rope_scale_factor);
}

const ArchSpec* find_arch(const std::string& name) {
    for (const auto& a : kArchs)
        if (name == a.name) return &a;
    return nullptr;
}

std::string supported_arch_list() {
    std::string s;
    for (const auto& a : kArchs) {
        if (!s.empty()) s += ", ";
        s += a.name;
    }
    return s;
}

HParams read_hparams(const format::GGUFFile& f, const ArchSpec& spec) {
    HParams hp;
    hp.arch = spec.name;
    const std::string p = hp.arch + ".";
    auto need = [&](const char* key) { return f.get_int(p + key); };
    auto bad = [&](const std::string& what) { throw Error(f.path() + ": " + what); };
    hp.n_layer_file = need("block_count");
    hp.n_embd = need("embedding_length");
    hp.n_ff = f.get_int(p + "feed_forward_length", spec.moe ? 0 : -1);
    if (hp.n_ff < 0) hp.n_ff = need("feed_forward_length");  // required for dense families
    hp.n_head = need("attention.head_count");
    hp.n_head_kv = f.get_int(p + "attention.head_count_kv", hp.n_head);
    hp.n_ctx_train = f.get_int(p + "context_length", 2048);
    if (hp.n_layer_file <= 0 || hp.n_layer_file > 4096) bad("block_count out of range");
    if (hp.n_embd <= 0 || hp.n_ff < 0 || (!spec.moe && hp.n_ff == 0) || hp.n_head <= 0 || hp.n_head_kv <= 0)
        bad("non-positive width or head count");
    if (hp.n_head % hp.n_head_kv != 0)
        bad("attention.head_count (" + std::to_string(hp.n_head) + ") is not a multiple of head_count_kv (" +
            std::to_string(hp.n_head_kv) + ")");

    // Multi-token-prediction blocks are stored after the main ones (GLM-4.5 files, and
    // deepseek2 files from converters that keep them); the main model never runs them.
    hp.n_nextn = f.get_int(p + "nextn_predict_layers", 0);
    if (hp.n_nextn < 0 || hp.n_nextn >= hp.n_layer_file)
        bad("nextn_predict_layers (" + std::to_string(hp.n_nextn) + ") must be in [0, block_count)");
    hp.n_layer = hp.n_layer_file - hp.n_nextn;

    hp.head_dim_k = f.get_int(p + "attention.key_length", hp.n_embd / hp.n_head);
    hp.head_dim_v = f.get_int(p + "attention.value_length", hp.head_dim_k);
    if (spec.attention == AttentionKind::kMla) {
        hp.mla = true;
        hp.q_lora_rank = f.get_int(p + "attention.q_lora_rank", 0);
        hp.kv_lora_rank = need("attention.kv_lora_rank");
        hp.rope_dims = need("rope.dimension_count");
        if (hp.kv_lora_rank <= 0 || hp.q_lora_rank < 0) bad("bad attention.kv_lora_rank / q_lora_rank");
        if (f.has(p + "attention.key_length_mla")) {
            // Current converter: key/value_length describe the latent "MQA" view
            // (kv_lora_rank + rope, kv_lora_rank); the per-head sizes are the *_mla keys.
            if (hp.head_dim_k != hp.kv_lora_rank + hp.rope_dims || hp.head_dim_v != hp.kv_lora_rank)
                bad("attention.key_length/value_length (" + std::to_string(hp.head_dim_k) + "/" +
                    std::to_string(hp.head_dim_v) + ") do not match kv_lora_rank + rope dims");
            hp.head_dim_k = need("attention.key_length_mla");
            hp.head_dim_v = need("attention.value_length_mla");
        }
        hp.qk_nope = hp.head_dim_k - hp.rope_dims;
        if (hp.qk_nope <= 0 || hp.head_dim_v <= 0 || hp.rope_dims % 2 != 0) bad("bad MLA head widths");
    }
    if (hp.head_dim_k <= 0 || hp.head_dim_v <= 0 || hp.head_dim_k % 2 != 0) bad("bad attention head width");
    hp.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon", 1e-5));
    hp.rope_base = static_cast<float>(f.get_float(p + "rope.freq_base", 10000.0));
    hp.rope_dims = f.get_int(p + "rope.dimension_count", hp.head_dim_k);
    if (hp.rope_dims <= 0 || hp.rope_dims > hp.head_dim_k || hp.rope_dims % 2 != 0) bad("bad rope.dimension_count");
    hp.rope_style = spec.rope_style;

    std::string scaling = f.get_string(p + "rope.scaling.type", "none");
    double factor = f.get_float(p + "rope.scaling.factor", 1.0);
    if (scaling == "none" || factor == 1.0 || factor == 0.0) {
        hp.rope_scaling = RopeScaling::kNone;
    } else if (scaling == "linear") {
        hp.rope_scaling = RopeScaling::kLinear;
        hp.rope_scale_factor = static_cast<float>(factor);
    } else if (scaling == "yarn" && spec.attention == AttentionKind::kMla) {
        // Only DeepSeek's YaRN convention (kq scale mscale^2, rope magnitude 1) is implemented.
        hp.rope_scaling = RopeScaling::kYarn;
        hp.rope_scale_factor = static_cast<float>(factor);
        hp.yarn_orig_ctx = f.get_int(p + "rope.scaling.original_context_length", hp.n_ctx_train);
        hp.yarn_beta_fast = static_cast<float>(f.get_float(p + "rope.scaling.yarn_beta_fast", 32.0));
        hp.yarn_beta_slow = static_cast<float>(f.get_float(p + "rope.scaling.yarn_beta_slow", 1.0));
        hp.yarn_ext_factor = static_cast<float>(f.get_float(p + "rope.scaling.yarn_ext_factor", 1.0));
        hp.yarn_log_mul = static_cast<float>(f.get_float(p + "rope.scaling.yarn_log_multiplier", 0.0));
        const double attn_factor = f.get_float(p + "rope.scaling.yarn_attn_factor", 1.0);
        if (attn_factor != 1.0) bad("rope.scaling.yarn_attn_factor != 1 is not supported for " + hp.arch);
        if (factor < 1.0 || hp.yarn_orig_ctx <= 0) bad("bad YaRN rope scaling parameters");
    } else {
        bad("rope scaling type '" + scaling + "' is not supported for " + hp.arch + " yet (supported: none, linear" +
            (spec.attention == AttentionKind::kMla ? ", yarn" : "") + ")");
    }
    hp.n_vocab = f.get_int(p + "vocab_size", 0);  // else taken from the embedding tensor

    if (spec.moe) {
        hp.n_expert = need("expert_count");
        hp.n_expert_used = need("expert_used_count");
        hp.n_ff_exp = need("expert_feed_forward_length");
        hp.n_expert_shared = f.get_int(p + "expert_shared_count", 0);
        hp.n_ff_shexp = f.get_int(p + "expert_shared_feed_forward_length", hp.n_ff_exp * hp.n_expert_shared);
        hp.n_layer_dense_lead = f.get_int(p + "leading_dense_block_count", 0);
        hp.n_expert_groups = f.get_int(p + "expert_group_count", 1);
        hp.n_group_used = f.get_int(p + "expert_group_used_count", hp.n_expert_groups);
        hp.expert_weights_norm = f.get_bool(p + "expert_weights_norm", spec.default_weights_norm);
        hp.expert_weights_scale = static_cast<float>(f.get_float(p + "expert_weights_scale", 1.0));
        if (hp.expert_weights_scale == 0.0f) hp.expert_weights_scale = 1.0f;  // llama.cpp: 0 means unset
        const int64_t gating = f.get_int(p + "expert_gating_func", static_cast<int64_t>(spec.default_gating));
        if (gating == 0) {
            hp.expert_gating = spec.default_gating;  // LLAMA_EXPERT_GATING_FUNC_TYPE_NONE in old files
        } else if (gating == 1 || gating == 2) {
            hp.expert_gating = static_cast<ExpertGating>(gating);
        } else {
            bad("expert_gating_func " + std::to_string(gating) +
                " is not supported (supported: 1 softmax, 2 sigmoid)");
        }
        if (hp.n_expert <= 0 || hp.n_expert > 4096) bad("expert_count out of range");
        if (hp.n_expert_used <= 0 || hp.n_expert_used > hp.n_expert) bad("expert_used_count out of range");
        if (hp.n_ff_exp <= 0) bad("expert_feed_forward_length must be positive");
        if (hp.n_expert_shared < 0 || hp.n_ff_shexp < 0) bad("bad shared expert count / width");
        if (hp.n_layer_dense_lead < 0 || hp.n_layer_dense_lead > hp.n_layer) bad("leading_dense_block_count out of range");
        if (hp.n_layer_dense_lead > 0 && hp.n_ff <= 0) bad("feed_forward_length is needed by the leading dense blocks");
        if (hp.n_expert_groups <= 0 || hp.n_expert % hp.n_expert_groups != 0)
            bad("expert_group_count (" + std::to_string(hp.n_expert_groups) + ") does not divide expert_count (" +
                std::to_string(hp.n_expert) + ")");
        if (hp.n_group_used <= 0 || hp.n_group_used > hp.n_expert_groups) bad("expert_group_used_count out of range");
        if (hp.n_group_used * (hp.n_expert / hp.n_expert_groups) < hp.n_expert_used)
            bad("the kept expert groups hold fewer experts than expert_used_count");
        if (hp.n_expert_groups > 1 && hp.expert_gating == ExpertGating::kSigmoid && hp.n_expert / hp.n_expert_groups < 2)
            bad("sigmoid group routing scores groups by their two best experts; groups of one are not supported");
    }
    return hp;
}

}  // namespace hearth::model
