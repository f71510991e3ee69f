#pragma once
// Mixture-of-experts routing: router logits -> the experts each token uses and their weights.
// Covers the families hearth supports:
//   Qwen3-MoE        softmax, top-k, optional renormalisation
//   DeepSeek-V2      softmax, group-limited greedy (groups scored by their best expert), scale
//   DeepSeek-V3/GLM  sigmoid + correction bias for the choice only, groups scored by the sum of
//                    their two best experts, renormalisation, routed scaling factor
#include <cstdint>

namespace hearth::backend::cpu {

enum class RouterScore { kSoftmax, kSigmoid };

struct RouterParams {
    RouterScore score = RouterScore::kSoftmax;
    int64_t n_expert = 0;
    int64_t n_used = 0;         // experts per token (k)
    int64_t n_groups = 1;       // experts are split into n_groups equal groups ...
    int64_t n_groups_used = 1;  // ... and only the best n_groups_used groups may be chosen
    bool normalize = false;     // divide the k weights by their sum
    float scale = 1.0f;         // then multiply them by this (routed_scaling_factor)
    const float* choice_bias = nullptr;  // added to the scores for choosing only (e_score_correction_bias)
};

// logits: n_tokens x n_expert. Writes ids and weights (n_tokens x n_used each), the ids of a
// token in descending order of their choice score.
void route_experts(const float* logits, int64_t n_tokens, const RouterParams& p, int32_t* ids, float* weights);

}  // namespace hearth::backend::cpu
