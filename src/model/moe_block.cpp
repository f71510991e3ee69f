#include "model/moe_block.h"

#include "backend/cpu/ops.h"
#include "backend/cpu/topk.h"

namespace hearth::model {

namespace cpu = backend::cpu;

void moe_ffn_block(const HParams& hp, const MoeFfnWeights& w, ForwardBatch& b, float* x) {
    const int64_t n = b.n, d = hp.n_embd, E = hp.n_expert, k = hp.n_expert_used;
    std::vector<float> xn(n * d), logits(n * E), weights(n * k), out(n * d);
    std::vector<int32_t> ids(n * k);
    cpu::rms_norm(x, w.norm.data(), xn.data(), n, d, hp.rms_eps);
    cpu::matmul(b.pool, w.router, xn.data(), n, logits.data());

    cpu::RouterParams rp;
    rp.score = hp.expert_gating == ExpertGating::kSigmoid ? cpu::RouterScore::kSigmoid : cpu::RouterScore::kSoftmax;
    rp.n_expert = E;
    rp.n_used = k;
    rp.n_groups = hp.n_expert_groups;
    rp.n_groups_used = hp.n_group_used;
    rp.normalize = hp.expert_weights_norm;
    rp.scale = hp.expert_weights_scale;
    rp.choice_bias = w.choice_bias.empty() ? nullptr : w.choice_bias.data();
    cpu::route_experts(logits.data(), n, rp, ids.data(), weights.data());

    cpu::moe_swiglu_experts(b.pool, w.gate, w.up, w.down, xn.data(), n, ids.data(), weights.data(), k, out.data());
    cpu::add_inplace(x, out.data(), n * d);

    if (!w.gate_sh.empty()) {
        const int64_t ff = w.gate_sh.rows;
        std::vector<float> g(n * ff), u(n * ff);
        cpu::matmul(b.pool, w.gate_sh, xn.data(), n, g.data());
        cpu::matmul(b.pool, w.up_sh, xn.data(), n, u.data());
        cpu::swiglu(g.data(), u.data(), g.data(), n * ff);
        cpu::matmul(b.pool, w.down_sh, g.data(), n, out.data());
        cpu::add_inplace(x, out.data(), n * d);
    }
}

}  // namespace hearth::model
