#pragma once
// The table of supported architectures. A family is a row here plus whatever distinct
// blocks it needs (model/blocks.h: attention, dense FFN; model/mla_block.h: DeepSeek's
// latent attention; model/moe_block.h: routed + shared experts); everything else is shared.
#include <string>
#include <vector>

#include "model/hparams.h"

namespace hearth::model {

enum class AttentionKind { kStandard, kMla };

struct ArchSpec {
    const char* name;        // GGUF general.architecture
    const char* family;      // human name
    RopeStyle rope_style;
    bool qkv_bias;           // q/k/v projections carry biases (Qwen2, GLM-4.5)
    bool qk_norm;            // per-head RMSNorm of q and k before rope is required (Qwen3); when
                             // false the norms are still used if the file has them (GLM-4.5)
    AttentionKind attention = AttentionKind::kStandard;
    bool moe = false;        // FFN blocks after the leading dense ones are mixtures of experts
    ExpertGating default_gating = ExpertGating::kSoftmax;  // when expert_gating_func is absent
    bool default_weights_norm = false;                     // when expert_weights_norm is absent
    // GGUF name of the pre-FFN RMSNorm: "ffn_norm", but glm4moe files call it
    // "post_attention_norm" (HF post_attention_layernorm maps there for GLM4_MOE).
    const char* ffn_norm = "ffn_norm";
};

// nullptr when the architecture is not supported.
const ArchSpec* find_arch(const std::string& name);
// "llama, qwen2, qwen3, ..." for error messages.
std::string supported_arch_list();

// Reads the hyper-parameters of `spec` from the file; throws hearth::Error naming the file
// and key when something required is missing or inconsistent.
HParams read_hparams(const format::GGUFFile& file, const ArchSpec& spec);

}  // namespace hearth::model
