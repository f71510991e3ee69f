#include "model/moe_block.h"

#include <cstddef>

#include "backend/cpu/ops.h"
#include "backend/cpu/topk.h"
#include "core/thread_pool.h"

namespace hearth::model {

namespace cpu = backend::cpu;

void moe_ffn_block(const HParams& hp, const MoeFfnWeights& w, ForwardBatch& b, float* x) {
    // Rows of every sequence in the batch route together: the expert kernel groups them by
    // expert, so each chosen expert's weights are read once per step, not once per sequence.
    const int64_t n = b.n, d = hp.n_embd, E = hp.n_expert, k = hp.n_expert_used;
    ScratchScope scope(b.scratch);
    float* xn = b.scratch.alloc<float>(n * d);
    float* logits = b.scratch.alloc<float>(n * E);
    float* weights = b.scratch.alloc<float>(n * k);
    float* out = b.scratch.alloc<float>(n * d);
    int32_t* ids = b.scratch.alloc<int32_t>(n * k);
    cpu::rms_norm(b.pool, x, w.norm.data(), xn, n, d, hp.rms_eps);
    cpu::matmul(b.pool, w.router, xn, n, logits);

    cpu::RouterParams rp;
    rp.score = hp.expert_gating == ExpertGating::kSigmoid ? cpu::RouterScore::kSigmoid : cpu::RouterScore::kSoftmax;
    rp.n_expert = E;
    rp.n_used = k;
    rp.n_groups = hp.n_expert_groups;
    rp.n_groups_used = hp.n_group_used;
    rp.normalize = hp.expert_weights_norm;
    rp.scale = hp.expert_weights_scale;
    rp.choice_bias = w.choice_bias.empty() ? nullptr : w.choice_bias.data();
    cpu::route_experts(logits, n, rp, ids, weights);

    // The routed experts and the shared one run as one fused step (see backend/cpu/moe.cpp).
    cpu::ExpertFfn f{w.gate, w.up, w.down, w.gate_sh, w.up_sh, w.down_sh};
    void* ws = b.scratch.alloc<std::byte>(cpu::moe_workspace_bytes(f, n, k, b.pool.size()));
    cpu::moe_ffn(b.pool, f, xn, n, ids, weights, k, out, ws);
    cpu::add_inplace(b.pool, x, out, n * d);
}

}  // namespace hearth::model
