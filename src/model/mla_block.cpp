#include "model/mla_block.h"

#include <atomic>
#include <cmath>
#include <cstring>

#include "backend/cpu/attention.h"
#include "backend/cpu/matmul_t.h"
#include "backend/cpu/moe.h"
#include "backend/cpu/ops.h"
#include "core/thread_pool.h"

namespace hearth::model {

namespace cpu = backend::cpu;

namespace {

std::atomic<MlaMode> g_mode{MlaMode::kAuto};

// Work per head over P cached positions for n new tokens (multiply-adds):
//   naive    P*L*(nope+v) to decompress + n*P*(Dk+Dv) to attend
//   absorbed n*P*(2L+R) to attend over latent rows (+ n*L*(nope+v) to absorb, small)
// so the naive form pays off once n*(2L+R-Dk-Dv) > L*(nope+v): about 170 tokens for
// DeepSeek-V3 (L 512, R 64, nope 128, v 128); never when 2L+R <= Dk+Dv.
bool prefer_absorbed(const HParams& hp, int64_t n) {
    const int64_t L = hp.kv_lora_rank, gain = 2 * L + hp.rope_dims - hp.head_dim_k - hp.head_dim_v;
    return gain <= 0 || n * gain <= L * (hp.qk_nope + hp.head_dim_v);
}

// Rows of head h's K up-projection and V up-projection.
cpu::Weight k_up_head(const HParams& hp, const MlaWeights& w, int64_t h) {
    if (w.kb_layout) return cpu::row_slice(w.k_up, h * hp.kv_lora_rank, hp.kv_lora_rank);
    return cpu::row_slice(w.k_up, h * (hp.qk_nope + hp.head_dim_v), hp.qk_nope);
}
cpu::Weight v_up_head(const HParams& hp, const MlaWeights& w, int64_t h) {
    if (w.kb_layout) return cpu::row_slice(w.v_up, h * hp.head_dim_v, hp.head_dim_v);
    return cpu::row_slice(w.v_up, h * (hp.qk_nope + hp.head_dim_v) + hp.qk_nope, hp.head_dim_v);
}

// Attention through the absorbed form; q: n x H x Dk (rope applied), att: n x H x Dv.
void attend_absorbed(const HParams& hp, const MlaWeights& w, int64_t layer, ForwardBatch& b, const float* q,
                     float scale, float* att) {
    const int64_t n = b.n, H = hp.n_head, Dk = hp.head_dim_k, Dv = hp.head_dim_v, L = hp.kv_lora_rank,
                  R = hp.rope_dims, nope = hp.qk_nope;
    std::vector<float> qcat(n * H * (L + R)), lat(n * H * L);
    std::vector<float> qn(n * nope), qa(n * L), la(n * L), vo(n * Dv);
    for (int64_t h = 0; h < H; ++h) {
        for (int64_t t = 0; t < n; ++t) std::memcpy(&qn[t * nope], q + (t * H + h) * Dk, nope * sizeof(float));
        const cpu::Weight ku = k_up_head(hp, w, h);
        if (w.kb_layout)
            cpu::matmul(b.pool, ku, qn.data(), n, qa.data());  // rows L of nope: q_abs = W_kb^T q_nope
        else
            cpu::matmul_transposed(ku, qn.data(), n, qa.data());  // rows nope of L
        for (int64_t t = 0; t < n; ++t) {
            float* dst = &qcat[(t * H + h) * (L + R)];
            std::memcpy(dst, &qa[t * L], L * sizeof(float));
            std::memcpy(dst + L, q + (t * H + h) * Dk + nope, R * sizeof(float));
        }
    }
    cpu::AttentionArgs a;
    a.q = qcat.data();
    a.n_tokens = n;
    a.pos0 = b.pos0;
    a.n_head = H;
    a.n_head_kv = 1;
    a.head_dim_k = L + R;
    a.head_dim_v = L;  // the value is the latent part of the same cached row
    a.scale = scale;
    a.kv_type = b.cache.type();
    a.k = b.cache.k(layer, 0);
    a.v = b.cache.k(layer, 0);
    a.k_stride = b.cache.k_row_bytes();
    a.v_stride = b.cache.k_row_bytes();
    a.out = lat.data();
    cpu::attention(b.pool, a);
    for (int64_t h = 0; h < H; ++h) {
        for (int64_t t = 0; t < n; ++t) std::memcpy(&la[t * L], &lat[(t * H + h) * L], L * sizeof(float));
        cpu::matmul(b.pool, v_up_head(hp, w, h), la.data(), n, vo.data());
        for (int64_t t = 0; t < n; ++t) std::memcpy(att + (t * H + h) * Dv, &vo[t * Dv], Dv * sizeof(float));
    }
}

// Attention with keys and values decompressed for every cached position.
void attend_naive(const HParams& hp, const MlaWeights& w, int64_t layer, ForwardBatch& b, const float* q, float scale,
                  float* att) {
    const int64_t H = hp.n_head, Dk = hp.head_dim_k, Dv = hp.head_dim_v, L = hp.kv_lora_rank, R = hp.rope_dims,
                  nope = hp.qk_nope;
    const int64_t P = b.pos0 + b.n;  // positions 0 .. P-1 are in the cache now
    std::vector<float> rows(P * (L + R));
    for (int64_t p = 0; p < P; ++p) b.cache.load_k(layer, p, &rows[p * (L + R)]);
    std::vector<float> K(P * H * Dk), V(P * H * Dv);
    b.pool.parallel_for(H, [&](int64_t h0, int64_t h1) {
        std::vector<float> c(P * L), kn(P * nope), vv(P * Dv);
        for (int64_t p = 0; p < P; ++p) std::memcpy(&c[p * L], &rows[p * (L + R)], L * sizeof(float));
        for (int64_t h = h0; h < h1; ++h) {
            const cpu::Weight ku = k_up_head(hp, w, h);
            if (w.kb_layout)
                cpu::matmul_transposed(ku, c.data(), P, kn.data());  // k_nope = W_kb c, W_kb^T stored
            else
                cpu::matmul_serial_f32(ku, c.data(), P, kn.data());
            cpu::matmul_serial_f32(v_up_head(hp, w, h), c.data(), P, vv.data());
            for (int64_t p = 0; p < P; ++p) {
                float* kd = &K[(p * H + h) * Dk];
                std::memcpy(kd, &kn[p * nope], nope * sizeof(float));
                std::memcpy(kd + nope, &rows[p * (L + R) + L], R * sizeof(float));
                std::memcpy(&V[(p * H + h) * Dv], &vv[p * Dv], Dv * sizeof(float));
            }
        }
    });
    cpu::AttentionArgs a;
    a.q = q;
    a.n_tokens = b.n;
    a.pos0 = b.pos0;
    a.n_head = H;
    a.n_head_kv = H;
    a.head_dim_k = Dk;
    a.head_dim_v = Dv;
    a.scale = scale;
    a.kv_type = DType::F32;
    a.k = reinterpret_cast<const uint8_t*>(K.data());
    a.v = reinterpret_cast<const uint8_t*>(V.data());
    a.k_stride = static_cast<size_t>(H * Dk) * sizeof(float);
    a.v_stride = static_cast<size_t>(H * Dv) * sizeof(float);
    a.out = att;
    cpu::attention(b.pool, a);
}

}  // namespace

void set_mla_mode(MlaMode mode) { g_mode = mode; }
MlaMode mla_mode() { return g_mode; }

void mla_attention_block(const HParams& hp, const MlaWeights& w, int64_t layer, ForwardBatch& b, float* x) {
    const int64_t n = b.n, d = hp.n_embd, H = hp.n_head, Dk = hp.head_dim_k, Dv = hp.head_dim_v,
                  L = hp.kv_lora_rank, R = hp.rope_dims;
    std::vector<float> xn(n * d), q(n * H * Dk), kv(n * (L + R)), att(n * H * Dv), out(n * d);
    cpu::rms_norm(x, w.norm.data(), xn.data(), n, d, hp.rms_eps);
    if (!w.wq.empty()) {
        cpu::matmul(b.pool, w.wq, xn.data(), n, q.data());
    } else {
        std::vector<float> qa(n * hp.q_lora_rank);
        cpu::matmul(b.pool, w.wq_a, xn.data(), n, qa.data());
        cpu::rms_norm(qa.data(), w.q_a_norm.data(), qa.data(), n, hp.q_lora_rank, hp.rms_eps);
        cpu::matmul(b.pool, w.wq_b, qa.data(), n, q.data());
    }
    cpu::matmul(b.pool, w.wkv_a, xn.data(), n, kv.data());
    for (int64_t t = 0; t < n; ++t) {
        float* row = &kv[t * (L + R)];
        cpu::rms_norm(row, w.kv_a_norm.data(), row, 1, L, hp.rms_eps);
    }
    // Rope on the last R dims of each q head and on the shared k_pe (rows of width L + R).
    const float pos_scale = hp.rope_scaling == RopeScaling::kLinear ? hp.rope_scale_factor : 1.0f;
    const bool neox = hp.rope_style == RopeStyle::kNeox;
    cpu::rope(q.data() + hp.qk_nope, n, H, Dk, R, b.positions.data(), hp.rope_base, pos_scale, b.rope_freqs, neox);
    cpu::rope(kv.data() + L, n, 1, L + R, R, b.positions.data(), hp.rope_base, pos_scale, b.rope_freqs, neox);
    for (int64_t t = 0; t < n; ++t) b.cache.store(layer, b.pos0 + t, &kv[t * (L + R)], nullptr);

    // YaRN's temperature enters the score scale squared (llama.cpp and HF DeepseekV3).
    const float mscale = hp.yarn_mscale();
    const float scale = mscale * mscale / std::sqrt(static_cast<float>(Dk));
    const MlaMode mode = g_mode;
    const bool absorbed = mode == MlaMode::kAbsorbed || (mode == MlaMode::kAuto && prefer_absorbed(hp, n));
    if (absorbed)
        attend_absorbed(hp, w, layer, b, q.data(), scale, att.data());
    else
        attend_naive(hp, w, layer, b, q.data(), scale, att.data());
    cpu::matmul(b.pool, w.wo, att.data(), n, out.data());
    cpu::add_inplace(x, out.data(), n * d);
}

}  // namespace hearth::model
