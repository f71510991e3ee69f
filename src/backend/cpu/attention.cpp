#include "backend/cpu/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "quant/quant.h"

namespace hearth::backend::cpu {
namespace {

inline float round_f16(float x) { return quant::fp16_to_f32(quant::f32_to_fp16(x)); }

void attend_one(const AttentionArgs& a, int64_t t, int64_t h, float* qbuf, float* kbuf, float* acc) {
    const int64_t group = a.n_head / a.n_head_kv;
    const int64_t hk = h / group;
    const float* q = a.q + (t * a.n_head + h) * a.head_dim_k;
    const bool f16 = a.kv_type == DType::F16;
    for (int64_t i = 0; i < a.head_dim_k; ++i) qbuf[i] = f16 ? round_f16(q[i]) : q[i];
    for (int64_t i = 0; i < a.head_dim_v; ++i) acc[i] = 0.0f;
    float m = -std::numeric_limits<float>::infinity();
    double l = 0.0;
    const int64_t last = a.pos0 + t;
    for (int64_t p = 0; p <= last; ++p) {
        const uint8_t* krow = a.k + static_cast<size_t>(p) * a.k_stride;
        float s = 0.0f;
        if (f16) {
            const auto* kk = reinterpret_cast<const uint16_t*>(krow) + hk * a.head_dim_k;
            for (int64_t i = 0; i < a.head_dim_k; ++i) kbuf[i] = quant::fp16_to_f32(kk[i]);
            for (int64_t i = 0; i < a.head_dim_k; ++i) s += qbuf[i] * kbuf[i];
        } else {
            const auto* kk = reinterpret_cast<const float*>(krow) + hk * a.head_dim_k;
            for (int64_t i = 0; i < a.head_dim_k; ++i) s += qbuf[i] * kk[i];
        }
        s *= a.scale;
        if (s > m) {
            // Rescale what was accumulated under the old maximum.
            const float r = std::isinf(m) ? 0.0f : std::exp(m - s);
            for (int64_t i = 0; i < a.head_dim_v; ++i) acc[i] *= r;
            l *= r;
            m = s;
        }
        const float w = std::exp(s - m);
        l += w;
        const uint8_t* vrow = a.v + static_cast<size_t>(p) * a.v_stride;
        if (f16) {
            const auto* vv = reinterpret_cast<const uint16_t*>(vrow) + hk * a.head_dim_v;
            for (int64_t i = 0; i < a.head_dim_v; ++i) acc[i] += w * quant::fp16_to_f32(vv[i]);
        } else {
            const auto* vv = reinterpret_cast<const float*>(vrow) + hk * a.head_dim_v;
            for (int64_t i = 0; i < a.head_dim_v; ++i) acc[i] += w * vv[i];
        }
    }
    float* out = a.out + (t * a.n_head + h) * a.head_dim_v;
    const float inv = static_cast<float>(1.0 / l);
    for (int64_t i = 0; i < a.head_dim_v; ++i) out[i] = acc[i] * inv;
}

}  // namespace

void attention(ThreadPool& pool, const AttentionArgs& a) {
    const int64_t jobs = a.n_tokens * a.n_head;
    pool.parallel_for(jobs, [&](int64_t b, int64_t e) {
        std::vector<float> qbuf(a.head_dim_k), kbuf(a.head_dim_k), acc(a.head_dim_v);
        for (int64_t j = b; j < e; ++j) attend_one(a, j / a.n_head, j % a.n_head, qbuf.data(), kbuf.data(), acc.data());
    });
}

}  // namespace hearth::backend::cpu
