#include "backend/cpu/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include "backend/cpu/simd_exp.h"  // also the AVX-512 pragmas and <immintrin.h>
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
// The quant layer's AVX-512 level (F/BW/VL/VNNI), so this shares its target and exp16.
#define HEARTH_ATT_AVX512 HEARTH_AVX512

// Keys handled per step of the online softmax: one 16-lane vector of scores per head.
constexpr int64_t kChunk = 16;

// 16 elements of a K/V row as floats.
template <bool F16>
HEARTH_ATT_AVX512 inline __m512 load16(const uint8_t* row, int64_t i) {
    if constexpr (F16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row) + i / 16));
    else return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i);
}

// Lane j of the result = the sum of the 16 lanes of v[j]. A transposing tree: 45 shuffles
// and adds for 16 sums, against about 8 per sum with one horizontal reduction each.
HEARTH_ATT_AVX512 inline __m512 sum16x16(const __m512 (&v)[16]) {
    __m512 t[8], u[4];
    for (int k = 0; k < 8; ++k)  // per 128-bit lane: [v0 0+2, v1 0+2, v0 1+3, v1 1+3]
        t[k] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]), _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]));
    for (int k = 0; k < 4; ++k) {  // per 128-bit lane: that lane's sums of v[4k..4k+3]
        const __m512d a = _mm512_castps_pd(t[2 * k]), b = _mm512_castps_pd(t[2 * k + 1]);
        u[k] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    const __m512 x0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
    const __m512 x1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(x0, x1, 0x88), _mm512_shuffle_f32x4(x0, x1, 0xDD));
}

// All query heads of one KV head for one token, keys 16 at a time: each chunk of key and
// value rows is converted to float once and used by the whole group (GQA); each head gets
// its 16 scores as one vector, one max/rescale and one vector exp per chunk. Same
// arithmetic as attend_one up to summation order and exp's last bits.
template <bool F16>
HEARTH_ATT_AVX512 void attend_group(const AttentionArgs& a, int64_t t, int64_t hk, std::vector<float>& scratch) {
    const int64_t G = a.n_head / a.n_head_kv, D = a.head_dim_k, Dv = a.head_dim_v;
    scratch.resize(static_cast<size_t>(G * (D + Dv) + 2 * G + kChunk * (D + Dv) + kChunk) + 16);
    float* q = scratch.data();
    float* acc = q + G * D;
    float* m = acc + G * Dv;
    float* l = m + G;
    float* kf = l + G;
    float* vf = kf + kChunk * D;
    float* w = vf + kChunk * Dv;
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
    const int64_t n_keys = a.pos0 + t + 1;
    const __m512 scale = _mm512_set1_ps(a.scale), neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int64_t p0 = 0; p0 < n_keys; p0 += kChunk) {
        const int64_t nk = std::min(kChunk, n_keys - p0);
        for (int64_t j = 0; j < nk; ++j) {
            const uint8_t* krow = a.k + static_cast<size_t>(p0 + j) * a.k_stride + koff;
            const uint8_t* vrow = a.v + static_cast<size_t>(p0 + j) * a.v_stride + voff;
            for (int64_t i = 0; i < D; i += 16) _mm512_storeu_ps(kf + j * D + i, load16<F16>(krow, i));
            for (int64_t i = 0; i < Dv; i += 16) _mm512_storeu_ps(vf + j * Dv + i, load16<F16>(vrow, i));
        }
        // Missing keys of a partial chunk score 0 here and are masked to -inf below.
        if (nk < kChunk) std::memset(kf + nk * D, 0, sizeof(float) * static_cast<size_t>((kChunk - nk) * D));
        const __mmask16 live = static_cast<__mmask16>(nk == kChunk ? 0xFFFF : (1u << nk) - 1);
        for (int64_t g = 0; g < G; ++g) {
            // 16 dot products side by side, each over the head dimension: 16 independent
            // accumulators kept in registers (the j loop is unrolled).
            __m512 d[16];
            for (int j = 0; j < 16; ++j) d[j] = _mm512_setzero_ps();
            for (int64_t i = 0; i < D; i += 16) {
                const __m512 qv = _mm512_loadu_ps(q + g * D + i);
#pragma GCC unroll 16
                for (int j = 0; j < 16; ++j) d[j] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kf + j * D + i), d[j]);
            }
            const __m512 s = _mm512_mask_mul_ps(neg_inf, live, sum16x16(d), scale);
            const float mx = std::max(m[g], _mm512_reduce_max_ps(s));
            float* ag = acc + g * Dv;
            if (mx > m[g]) {
                // Rescale what was accumulated under the old maximum.
                const float r = std::isinf(m[g]) ? 0.0f : std::exp(m[g] - mx);
                const __m512 rv = _mm512_set1_ps(r);
                for (int64_t i = 0; i < Dv; i += 16) _mm512_storeu_ps(ag + i, _mm512_mul_ps(_mm512_loadu_ps(ag + i), rv));
                l[g] *= r;
                m[g] = mx;
            }
            const __m512 e = simd::exp16(_mm512_sub_ps(s, _mm512_set1_ps(mx)));  // dead lanes: exp(-inf) = 0
            l[g] += _mm512_reduce_add_ps(e);
            _mm512_storeu_ps(w, e);
            // acc += sum_j w[j] * v_j, 64 output lanes at a time (four independent chains).
            int64_t i = 0;
            for (; i + 64 <= Dv; i += 64) {
                __m512 o0 = _mm512_loadu_ps(ag + i), o1 = _mm512_loadu_ps(ag + i + 16);
                __m512 o2 = _mm512_loadu_ps(ag + i + 32), o3 = _mm512_loadu_ps(ag + i + 48);
                for (int64_t j = 0; j < nk; ++j) {
                    const __m512 wj = _mm512_set1_ps(w[j]);
                    const float* vj = vf + j * Dv + i;
                    o0 = _mm512_fmadd_ps(wj, _mm512_loadu_ps(vj), o0);
                    o1 = _mm512_fmadd_ps(wj, _mm512_loadu_ps(vj + 16), o1);
                    o2 = _mm512_fmadd_ps(wj, _mm512_loadu_ps(vj + 32), o2);
                    o3 = _mm512_fmadd_ps(wj, _mm512_loadu_ps(vj + 48), o3);
                }
                _mm512_storeu_ps(ag + i, o0);
                _mm512_storeu_ps(ag + i + 16, o1);
                _mm512_storeu_ps(ag + i + 32, o2);
                _mm512_storeu_ps(ag + i + 48, o3);
            }
            for (; i < Dv; i += 16) {
                __m512 o = _mm512_loadu_ps(ag + i);
                for (int64_t j = 0; j < nk; ++j) o = _mm512_fmadd_ps(_mm512_set1_ps(w[j]), _mm512_loadu_ps(vf + j * Dv + i), o);
                _mm512_storeu_ps(ag + i, o);
            }
        }
    }
    for (int64_t g = 0; g < G; ++g) {
        float* out = a.out + (t * a.n_head + hk * G + g) * Dv;
        const float inv = 1.0f / l[g];
        for (int64_t i = 0; i < Dv; ++i) out[i] = acc[g * Dv + i] * inv;
    }
}

bool fast_attention_ok(const AttentionArgs& a) {
    return std::strcmp(quant::simd_level(), "avx512") == 0 && a.head_dim_k % 16 == 0 && a.head_dim_v % 16 == 0 &&
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
            // Kept per worker thread across calls: attention runs once per layer per step.
            thread_local std::vector<float> scratch;
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
