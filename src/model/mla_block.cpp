#include "model/mla_block.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <span>

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

// Attention through the absorbed form for a run of sequences whose rows are contiguous
// (rows r0 .. r1-1 of the batch); q: rows x H x Dk (rope applied), att: rows x H x Dv.
void attend_absorbed(const HParams& hp, const MlaWeights& w, int64_t layer, ForwardBatch& b,
                     std::span<const SeqRows> run, const float* q, float scale, float* att) {
    const int64_t H = hp.n_head, Dk = hp.head_dim_k, Dv = hp.head_dim_v, L = hp.kv_lora_rank, R = hp.rope_dims,
                  nope = hp.qk_nope;
    const int64_t r0 = run.front().row0, n = run.back().row0 + run.back().n - r0;
    q += r0 * H * Dk;
    att += r0 * H * Dv;
    ScratchScope scope(b.scratch);
    float* qcat = b.scratch.alloc<float>(n * H * (L + R));
    float* lat = b.scratch.alloc<float>(n * H * L);
    float* qn = b.scratch.alloc<float>(n * nope);
    float* qa = b.scratch.alloc<float>(n * L);
    float* la = b.scratch.alloc<float>(n * L);
    float* vo = b.scratch.alloc<float>(n * Dv);
    for (int64_t h = 0; h < H; ++h) {
        for (int64_t t = 0; t < n; ++t) std::memcpy(&qn[t * nope], q + (t * H + h) * Dk, nope * sizeof(float));
        const cpu::Weight ku = k_up_head(hp, w, h);
        if (w.kb_layout)
            cpu::matmul(b.pool, ku, qn, n, qa);  // rows L of nope: q_abs = W_kb^T q_nope
        else
            cpu::matmul_transposed(ku, qn, n, qa);  // rows nope of L
        for (int64_t t = 0; t < n; ++t) {
            float* dst = &qcat[(t * H + h) * (L + R)];
            std::memcpy(dst, &qa[t * L], L * sizeof(float));
            std::memcpy(dst + L, q + (t * H + h) * Dk + nope, R * sizeof(float));
        }
    }
    // The per-head absorbed products above and below take every row through the decode kernels
    // (no prompt rows given): a fixed rule, so rows still do not depend on their batch.
    ForwardBatch sub{b.pool, b.scratch, n, b.positions, run, b.rope_freqs, {}};
    attention_per_sequence(sub, [&](const SeqRows& s) {
        cpu::AttentionArgs a;
        a.q = qcat + (s.row0 - r0) * H * (L + R);
        a.n_tokens = s.n;
        a.pos0 = s.pos0;
        a.n_head = H;
        a.n_head_kv = 1;
        a.head_dim_k = L + R;
        a.head_dim_v = L;  // the value is the latent part of the same cached row
        a.scale = scale;
        a.kv_type = s.cache->type();
        a.k = s.cache->k(layer, 0);
        a.v = s.cache->k(layer, 0);
        a.k_stride = s.cache->k_row_bytes();
        a.v_stride = s.cache->k_row_bytes();
        a.out = lat + (s.row0 - r0) * H * L;
        return a;
    });
    for (int64_t h = 0; h < H; ++h) {
        for (int64_t t = 0; t < n; ++t) std::memcpy(&la[t * L], &lat[(t * H + h) * L], L * sizeof(float));
        cpu::matmul(b.pool, v_up_head(hp, w, h), la, n, vo);
        for (int64_t t = 0; t < n; ++t) std::memcpy(att + (t * H + h) * Dv, &vo[t * Dv], Dv * sizeof(float));
    }
}

// Attention of one sequence with keys and values decompressed for every cached position.
void attend_naive(const HParams& hp, const MlaWeights& w, int64_t layer, ForwardBatch& b, const SeqRows& s,
                  const float* q, float scale, float* att) {
    const int64_t H = hp.n_head, Dk = hp.head_dim_k, Dv = hp.head_dim_v, L = hp.kv_lora_rank, R = hp.rope_dims,
                  nope = hp.qk_nope;
    const int64_t P = s.pos0 + s.n;  // positions 0 .. P-1 are in the cache now
    ScratchScope scope(b.scratch);
    float* rows = b.scratch.alloc<float>(P * (L + R));
    float* c = b.scratch.alloc<float>(P * L);
    for (int64_t p = 0; p < P; ++p) {
        s.cache->load_k(layer, p, &rows[p * (L + R)]);
        std::memcpy(&c[p * L], &rows[p * (L + R)], L * sizeof(float));
    }
    float* K = b.scratch.alloc<float>(P * H * Dk);
    float* V = b.scratch.alloc<float>(P * H * Dv);
    const int nth = b.pool.size();
    float* per_thread = b.scratch.alloc<float>(static_cast<size_t>(nth) * P * (nope + Dv));
    b.pool.run([&](int i, int n_threads) {
        float* kn = per_thread + static_cast<int64_t>(i) * P * (nope + Dv);
        float* vv = kn + P * nope;
        for (int64_t h = H * i / n_threads; h < H * (i + 1) / n_threads; ++h) {
            const cpu::Weight ku = k_up_head(hp, w, h);
            if (w.kb_layout)
                cpu::matmul_transposed(ku, c, P, kn);  // k_nope = W_kb c, W_kb^T stored
            else
                cpu::matmul_serial_f32(ku, c, P, kn);
            cpu::matmul_serial_f32(v_up_head(hp, w, h), c, P, vv);
            for (int64_t p = 0; p < P; ++p) {
                float* kd = &K[(p * H + h) * Dk];
                std::memcpy(kd, &kn[p * nope], nope * sizeof(float));
                std::memcpy(kd + nope, &rows[p * (L + R) + L], R * sizeof(float));
                std::memcpy(&V[(p * H + h) * Dv], &vv[p * Dv], Dv * sizeof(float));
            }
        }
    });
    cpu::AttentionArgs a;
    a.q = q + s.row0 * H * Dk;
    a.n_tokens = s.n;
    a.pos0 = s.pos0;
    a.n_head = H;
    a.n_head_kv = H;
    a.head_dim_k = Dk;
    a.head_dim_v = Dv;
    a.scale = scale;
    a.kv_type = DType::F32;
    a.k = reinterpret_cast<const uint8_t*>(K);
    a.v = reinterpret_cast<const uint8_t*>(V);
    a.k_stride = static_cast<size_t>(H * Dk) * sizeof(float);
    a.v_stride = static_cast<size_t>(H * Dv) * sizeof(float);
    a.out = att + s.row0 * H * Dv;
    cpu::attention(b.pool, a);
}

}  // namespace

void set_mla_mode(MlaMode mode) { g_mode = mode; }
MlaMode mla_mode() { return g_mode; }

void mla_attention_block(const HParams& hp, const MlaWeights& w, int64_t layer, ForwardBatch& b, float* x) {
    const int64_t n = b.n, d = hp.n_embd, H = hp.n_head, Dk = hp.head_dim_k, Dv = hp.head_dim_v,
                  L = hp.kv_lora_rank, R = hp.rope_dims;
    ScratchScope scope(b.scratch);
    float* xn = b.scratch.alloc<float>(n * d);
    float* q = b.scratch.alloc<float>(n * H * Dk);
    float* kv = b.scratch.alloc<float>(n * (L + R));
    float* att = b.scratch.alloc<float>(n * H * Dv);
    float* out = b.scratch.alloc<float>(n * d);
    cpu::rms_norm(b.pool, x, w.norm.data(), xn, n, d, hp.rms_eps);
    if (!w.wq.empty()) {
        cpu::matmul(b.pool, w.wq, xn, n, q, b.prompt_rows);
    } else {
        float* qa = b.scratch.alloc<float>(n * hp.q_lora_rank);
        cpu::matmul(b.pool, w.wq_a, xn, n, qa, b.prompt_rows);
        cpu::rms_norm(b.pool, qa, w.q_a_norm.data(), qa, n, hp.q_lora_rank, hp.rms_eps);
        cpu::matmul(b.pool, w.wq_b, qa, n, q, b.prompt_rows);
    }
    cpu::matmul(b.pool, w.wkv_a, xn, n, kv, b.prompt_rows);
    for (int64_t t = 0; t < n; ++t) {
        float* row = &kv[t * (L + R)];
        cpu::rms_norm(row, w.kv_a_norm.data(), row, 1, L, hp.rms_eps);
    }
    // Rope on the last R dims of each q head and on the shared k_pe (rows of width L + R).
    const float pos_scale = hp.rope_scaling == RopeScaling::kLinear ? hp.rope_scale_factor : 1.0f;
    const bool neox = hp.rope_style == RopeStyle::kNeox;
    cpu::rope(q + hp.qk_nope, n, H, Dk, R, b.positions, hp.rope_base, pos_scale, b.rope_freqs, neox);
    cpu::rope(kv + L, n, 1, L + R, R, b.positions, hp.rope_base, pos_scale, b.rope_freqs, neox);
    store_rows(b, layer, kv, L + R, nullptr, 0);

    // YaRN's temperature enters the score scale squared (llama.cpp and HF DeepseekV3).
    const float mscale = hp.yarn_mscale();
    const float scale = mscale * mscale / std::sqrt(static_cast<float>(Dk));
    // The form is chosen per sequence (decode rows absorbed, a long prompt chunk naive);
    // consecutive absorbed sequences share their matmuls and one attention region.
    const MlaMode mode = g_mode;
    auto absorbed = [&](const SeqRows& s) {
        return mode == MlaMode::kAbsorbed || (mode == MlaMode::kAuto && prefer_absorbed(hp, s.n));
    };
    for (size_t i = 0; i < b.seqs.size();) {
        size_t j = i + 1;
        if (absorbed(b.seqs[i])) {
            while (j < b.seqs.size() && absorbed(b.seqs[j])) ++j;
            attend_absorbed(hp, w, layer, b, b.seqs.subspan(i, j - i), q, scale, att);
        } else {
            attend_naive(hp, w, layer, b, b.seqs[i], q, scale, att);
        }
        i = j;
    }
    cpu::matmul(b.pool, w.wo, att, n, out, b.prompt_rows);
    cpu::add_inplace(b.pool, x, out, n * d);
}

}  // namespace hearth::model
