#pragma once
// YaRN (Peng et al. 2023) as llama.cpp's ggml_rope_yarn and transformers' "yarn" rope type
// compute it, expressed as per-frequency divisors for backend::cpu::rope's freq_factors:
// theta_i = pos * base^(-2i/d) / factor_i. The magnitude (mscale) part is not included.
#include <cstdint>
#include <vector>

namespace hearth::backend::cpu {

std::vector<float> yarn_freq_factors(int64_t rope_dims, float base, float factor, int64_t orig_ctx, float beta_fast,
                                     float beta_slow, float ext_factor);

}  // namespace hearth::backend::cpu
