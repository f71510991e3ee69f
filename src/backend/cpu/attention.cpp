#include "backend/cpu/attention.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 intrinsics seed their "undefined" operands with a self-initialised
// variable, which -Wuninitialized flags once they are inlined into target() functions.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

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

#if defined(__x86_64__) || defined(__i386__)
#define HEARTH_ATT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

// 16 elements of a K/V row as floats.
template <bool F16>
HEARTH_ATT_AVX512 inline __m512 load16(const uint8_t* row, int64_t i) {
    if constexpr (F16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row) + i / 16));
    else return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i);
}

// All query heads of one KV head for one token: each key and value row is converted once
// and used by the whole group (GQA), with one online softmax per query head. Same
// arithmetic as attend_one up to summation order; head dims are multiples of 16.
template <bool F16>
HEARTH_ATT_AVX512 void attend_group(const AttentionArgs& a, int64_t t, int64_t hk, std::vector<float>& scratch) {
    const int64_t G = a.n_head / a.n_head_kv, D = a.head_dim_k, Dv = a.head_dim_v;
    scratch.resize(static_cast<size_t>(G * (D + Dv) + 2 * G));
    float* q = scratch.data();
    float* acc = q + G * D;
    float* m = acc + G * Dv;
    float* l = m + G;
    for (int64_t g = 0; g < G; ++g) {
        const float* src = a.q + (t * a.n_head + hk * G + g) * D;
        for (int64_t i = 0; i < D; i += 16) {
            __m512 v = _mm512_loadu_ps(src + i);
            if (F16) v = _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            _mm512_storeu_ps(q + g * D + i, v);
        }
        m[g] = -std::numeric_limits<float>::infinity();
        l[g] = 0.f;
    }
    std::memset(acc, 0, sizeof(float) * static_cast<size_t>(G * Dv));
    const size_t koff = static_cast<size_t>(hk * D) * (F16 ? 2 : 4), voff = static_cast<size_t>(hk * Dv) * (F16 ? 2 : 4);
    const int64_t last = a.pos0 + t;
    for (int64_t p = 0; p <= last; ++p) {
        const uint8_t* krow = a.k + static_cast<size_t>(p) * a.k_stride + koff;
        const uint8_t* vrow = a.v + static_cast<size_t>(p) * a.v_stride + voff;
        for (int64_t g = 0; g < G; ++g) {
            __m512 d = _mm512_setzero_ps();
            for (int64_t i = 0; i < D; i += 16) d = _mm512_fmadd_ps(_mm512_loadu_ps(q + g * D + i), load16<F16>(krow, i), d);
            const float s = _mm512_reduce_add_ps(d) * a.scale;
            float* ag = acc + g * Dv;
            if (s > m[g]) {
                const float r = std::isinf(m[g]) ? 0.0f : std::exp(m[g] - s);
                const __m512 rv = _mm512_set1_ps(r);
                for (int64_t i = 0; i < Dv; i += 16) _mm512_storeu_ps(ag + i, _mm512_mul_ps(_mm512_loadu_ps(ag + i), rv));
                l[g] *= r;
                m[g] = s;
            }
            const float w = std::exp(s - m[g]);
            l[g] += w;
            const __m512 wv = _mm512_set1_ps(w);
            for (int64_t i = 0; i < Dv; i += 16)
                _mm512_storeu_ps(ag + i, _mm512_fmadd_ps(wv, load16<F16>(vrow, i), _mm512_loadu_ps(ag + i)));
        }
    }
    for (int64_t g = 0; g < G; ++g) {
        float* out = a.out + (t * a.n_head + hk * G + g) * Dv;
        const float inv = 1.0f / l[g];
        for (int64_t i = 0; i < Dv; ++i) out[i] = acc[g * Dv + i] * inv;
    }
}

bool fast_attention_ok(const AttentionArgs& a) {
    static const bool cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
    return cpu && std::strcmp(quant::simd_level(), "scalar") != 0 && a.head_dim_k % 16 == 0 && a.head_dim_v % 16 == 0 &&
           a.n_head_kv > 0 && a.n_head % a.n_head_kv == 0 && (a.kv_type == DType::F16 || a.kv_type == DType::F32);
}
#else
bool fast_attention_ok(const AttentionArgs&) { return false; }
#endif

}  // namespace

void attention(ThreadPool& pool, const AttentionArgs& a) {
#if defined(__x86_64__) || defined(__i386__)
    if (fast_attention_ok(a)) {
        // Jobs are (token, kv head) pairs handed out dynamically: later tokens see more keys,
        // so a static split would leave the first thread idle.
        const int64_t jobs = a.n_tokens * a.n_head_kv;
        std::atomic<int64_t> next{0};
        const bool f16 = a.kv_type == DType::F16;
        pool.run([&](int, int) {
            std::vector<float> scratch;
            for (;;) {
                // Longest jobs (last tokens) first.
                const int64_t j = jobs - 1 - next.fetch_add(1, std::memory_order_relaxed);
                if (j < 0) break;
                if (f16) attend_group<true>(a, j / a.n_head_kv, j % a.n_head_kv, scratch);
                else attend_group<false>(a, j / a.n_head_kv, j % a.n_head_kv, scratch);
            }
        });
        return;
    }
#endif
    const int64_t jobs = a.n_tokens * a.n_head;
    pool.parallel_for(jobs, [&](int64_t b, int64_t e) {
        std::vector<float> qbuf(a.head_dim_k), kbuf(a.head_dim_k), acc(a.head_dim_v);
        for (int64_t j = b; j < e; ++j) attend_one(a, j / a.n_head, j % a.n_head, qbuf.data(), kbuf.data(), acc.data());
    });
}

}  // namespace hearth::backend::cpu
