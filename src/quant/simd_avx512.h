#pragma once
// Shared by the AVX-512 kernels (dot_avx512.cpp, gemm_avx512.cpp, quantize_avx512.cpp, the
// element-wise ops): target attributes and small helpers. Functions using these carry the
// attribute and are reached only after a CPU check (quant/dispatch.cpp).
#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 intrinsics seed their "undefined" operands with a self-initialised
// variable, which -Wuninitialized flags once they are inlined into target() functions.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "quant/simd_avx2.h"

#define HEARTH_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace hearth::quant::avx512 {

using avx2::load_u32;

HEARTH_AVX512 inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

HEARTH_AVX512 inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

HEARTH_AVX512 inline float hsum512(__m512 v) {
    return hsum256(_mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

HEARTH_AVX512 inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
HEARTH_AVX512 inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }

// Two 32-byte rows side by side.
HEARTH_AVX512 inline __m512i pair256(const void* a, const void* b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(a)), load256(b), 1);
}

// Lanes 0..7 = a, 8..15 = b.
HEARTH_AVX512 inline __m512 pair_scale(float a, float b) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(a)), _mm256_castps_pd(_mm256_set1_ps(b)), 1));
}

}  // namespace hearth::quant::avx512
#endif
