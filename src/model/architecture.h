#pragma once
// The table of supported architectures. A family is a row here plus whatever distinct
// layers it needs; everything else (norms, attention, SwiGLU) is shared.
#include <string>
#include <vector>

#include "model/hparams.h"

namespace hearth::model {

struct ArchSpec {
    const char* name;        // GGUF general.architecture
    const char* family;      // human name
    RopeStyle rope_style;
    bool qkv_bias;           // q/k/v projections carry biases (Qwen2)
    bool qk_norm;            // per-head RMSNorm of q and k before rope (Qwen3)
};

// nullptr when the architecture is not supported.
const ArchSpec* find_arch(const std::string& name);
// "llama, qwen2, qwen3" for error messages.
std::string supported_arch_list();

// Reads the hyper-parameters of `spec` from the file; throws hearth::Error naming the file
// and key when something required is missing or inconsistent.
HParams read_hparams(const format::GGUFFile& file, const ArchSpec& spec);

}  // namespace hearth::model
