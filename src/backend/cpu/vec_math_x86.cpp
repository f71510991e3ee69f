// AVX2 and AVX-512 row kernels (see vec_math.h). The library is built for baseline x86-64,
// so each function carries its own target attribute and is reached only through the CPU
// checks below.
#include "backend/cpu/vec_math.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cmath>
#include <cstring>

#include "backend/cpu/simd_exp.h"  // also the target macros and <immintrin.h>

namespace hearth::backend::cpu::vec {
namespace {

using simd::exp16;
using simd::exp8;

// ---------------------------------------------------------------- AVX2

HEARTH_AVX2 void exp_avx2(const float* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        alignas(32) float buf[8] = {};
        std::memcpy(buf, x + i, sizeof(float) * static_cast<size_t>(n - i));
        _mm256_store_ps(buf, exp8(_mm256_load_ps(buf)));
        std::memcpy(y + i, buf, sizeof(float) * static_cast<size_t>(n - i));
    }
}

HEARTH_AVX2 inline __m256 swiglu8(__m256 g, __m256 u) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

HEARTH_AVX2 void swiglu_avx2(const float* gate, const float* up, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, swiglu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        alignas(32) float g[8] = {}, u[8] = {};
        const size_t rest = sizeof(float) * static_cast<size_t>(n - i);
        std::memcpy(g, gate + i, rest);
        std::memcpy(u, up + i, rest);
        _mm256_store_ps(g, swiglu8(_mm256_load_ps(g), _mm256_load_ps(u)));
        std::memcpy(out + i, g, rest);
    }
}

HEARTH_AVX2 void rms_norm_row_avx2(const float* x, const float* w, float* y, int64_t d, float eps) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= d; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        a0 = _mm256_fmadd_pd(lo, lo, a0);
        a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    alignas(32) double part[4];
    _mm256_store_pd(part, _mm256_add_pd(a0, a1));
    double ss = (part[0] + part[1]) + (part[2] + part[3]);
    for (; i < d; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    const __m256 s = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= d; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), s);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
        _mm256_storeu_ps(y + i, v);
    }
    for (; i < d; ++i) y[i] = w ? x[i] * scale * w[i] : x[i] * scale;
}

HEARTH_AVX2 void add_avx2(float* x, const float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) x[i] += y[i];
}

// ---------------------------------------------------------------- AVX-512

HEARTH_AVX512 void exp_avx512(const float* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

HEARTH_AVX512 inline __m512 swiglu16(__m512 g, __m512 u) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
    return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

HEARTH_AVX512 void swiglu_avx512(const float* gate, const float* up, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, swiglu16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, m, swiglu16(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
    }
}

HEARTH_AVX512 void rms_norm_row_avx512(const float* x, const float* w, float* y, int64_t d, float eps) {
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= d; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        a0 = _mm512_fmadd_pd(lo, lo, a0);
        a1 = _mm512_fmadd_pd(hi, hi, a1);
    }
    double ss = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
    for (; i < d; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    const __m512 s = _mm512_set1_ps(scale);
    for (i = 0; i < d; i += 16) {
        const __mmask16 m = d - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (d - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s);
        if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

HEARTH_AVX512 void add_avx512(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

bool cpu_has_avx2() {
    static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ok;
}

bool cpu_has_avx512() {
    static const bool ok = cpu_has_avx2() && __builtin_cpu_supports("avx512f");
    return ok;
}

}  // namespace

const RowKernels* avx2_row_kernels() {
    static const RowKernels k{exp_avx2, swiglu_avx2, rms_norm_row_avx2, add_avx2};
    return cpu_has_avx2() ? &k : nullptr;
}

const RowKernels* avx512_row_kernels() {
    static const RowKernels k{exp_avx512, swiglu_avx512, rms_norm_row_avx512, add_avx512};
    return cpu_has_avx512() ? &k : nullptr;
}

}  // namespace hearth::backend::cpu::vec

#else
namespace hearth::backend::cpu::vec {
const RowKernels* avx2_row_kernels() { return nullptr; }
const RowKernels* avx512_row_kernels() { return nullptr; }
}  // namespace hearth::backend::cpu::vec
#endif
