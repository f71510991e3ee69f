#include "model/blocks.h"

#include <cmath>

#include "backend/cpu/attention.h"
#include "backend/cpu/ops.h"

namespace hearth::model {

namespace cpu = backend::cpu;

void attention_block(const HParams& hp, const AttentionWeights& w, int64_t layer, ForwardBatch& b, float* x) {
    const int64_t n = b.n, d = hp.n_embd;
    std::vector<float> xn(n * d), q(n * hp.q_dim()), k(n * hp.k_dim()), v(n * hp.v_dim());
    std::vector<float> att(n * hp.n_head * hp.head_dim_v), out(n * d);
    cpu::rms_norm(x, w.norm.data(), xn.data(), n, d, hp.rms_eps);
    cpu::matmul(b.pool, w.wq, xn.data(), n, q.data());
    cpu::matmul(b.pool, w.wk, xn.data(), n, k.data());
    cpu::matmul(b.pool, w.wv, xn.data(), n, v.data());
    if (!w.bq.empty()) cpu::add_bias(q.data(), w.bq.data(), n, hp.q_dim());
    if (!w.bk.empty()) cpu::add_bias(k.data(), w.bk.data(), n, hp.k_dim());
    if (!w.bv.empty()) cpu::add_bias(v.data(), w.bv.data(), n, hp.v_dim());
    if (!w.q_norm.empty()) cpu::rms_norm(q.data(), w.q_norm.data(), q.data(), n * hp.n_head, hp.head_dim_k, hp.rms_eps);
    if (!w.k_norm.empty())
        cpu::rms_norm(k.data(), w.k_norm.data(), k.data(), n * hp.n_head_kv, hp.head_dim_k, hp.rms_eps);
    const bool neox = hp.rope_style == RopeStyle::kNeox;
    const float pos_scale = hp.rope_scaling == RopeScaling::kLinear ? hp.rope_scale_factor : 1.0f;
    cpu::rope(q.data(), n, hp.n_head, hp.head_dim_k, hp.rope_dims, b.positions.data(), hp.rope_base, pos_scale,
              b.rope_freqs, neox);
    cpu::rope(k.data(), n, hp.n_head_kv, hp.head_dim_k, hp.rope_dims, b.positions.data(), hp.rope_base, pos_scale,
              b.rope_freqs, neox);
    for (int64_t t = 0; t < n; ++t) b.cache.store(layer, b.pos0 + t, k.data() + t * hp.k_dim(), v.data() + t * hp.v_dim());

    cpu::AttentionArgs a;
    a.q = q.data();
    a.n_tokens = n;
    a.pos0 = b.pos0;
    a.n_head = hp.n_head;
    a.n_head_kv = hp.n_head_kv;
    a.head_dim_k = hp.head_dim_k;
    a.head_dim_v = hp.head_dim_v;
    a.scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));
    a.kv_type = b.cache.type();
    a.k = b.cache.k(layer, 0);
    a.v = b.cache.v(layer, 0);
    a.k_stride = b.cache.k_row_bytes();
    a.v_stride = b.cache.v_row_bytes();
    a.out = att.data();
    cpu::attention(b.pool, a);
    cpu::matmul(b.pool, w.wo, att.data(), n, out.data());
    cpu::add_inplace(x, out.data(), n * d);
}

void dense_ffn_block(const HParams& hp, const DenseFfnWeights& w, ForwardBatch& b, float* x) {
    const int64_t n = b.n, d = hp.n_embd, ff = w.gate.rows;
    std::vector<float> xn(n * d), gate(n * ff), up(n * ff), out(n * d);
    cpu::rms_norm(x, w.norm.data(), xn.data(), n, d, hp.rms_eps);
    cpu::matmul(b.pool, w.gate, xn.data(), n, gate.data());
    cpu::matmul(b.pool, w.up, xn.data(), n, up.data());
    cpu::swiglu(gate.data(), up.data(), gate.data(), n * ff);
    cpu::matmul(b.pool, w.down, gate.data(), n, out.data());
    cpu::add_inplace(x, out.data(), n * d);
}

}  // namespace hearth::model
