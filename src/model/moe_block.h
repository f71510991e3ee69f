#pragma once
// The mixture-of-experts FFN block (Qwen3-MoE, DeepSeekMoE, GLM-4.5): RMSNorm, a router
// choosing k routed experts per token, their SwiGLU outputs weighted and summed, plus an
// always-on shared expert when the family has one.
#include <vector>

#include "backend/cpu/moe.h"
#include "model/blocks.h"

namespace hearth::model {

struct MoeFfnWeights {
    std::vector<float> norm;                // pre-FFN RMSNorm gain
    backend::cpu::Weight router;            // ffn_gate_inp: n_expert rows of n_embd
    std::vector<float> choice_bias;         // exp_probs_b.bias (e_score_correction_bias), empty if absent
    backend::cpu::ExpertWeights gate, up, down;  // ffn_{gate,up,down}_exps
    backend::cpu::Weight gate_sh, up_sh, down_sh;  // ffn_{gate,up,down}_shexp, empty if absent
};

void moe_ffn_block(const HParams& hp, const MoeFfnWeights& w, ForwardBatch& b, float* x);

}  // namespace hearth::model
