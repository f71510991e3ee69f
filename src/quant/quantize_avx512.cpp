// AVX-512 activation quantizers (Q8_0, Q8_K): the same arithmetic as the scalar reference in
// reference.cpp, element for element, so their output bytes are identical (tests hold them
// to it). Prefill quantizes every activation row once per matrix, which the scalar loops
// made a visible share of the time.
#if defined(__x86_64__) || defined(__i386__)
#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/simd_avx512.h"

namespace hearth::quant {
namespace {

HEARTH_AVX512 inline __m512 abs_ps(__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
}

// roundf: to nearest, halves away from zero. trunc, then step one away from zero when the
// dropped fraction (exact in float) is at least one half.
HEARTH_AVX512 inline __m512i round_away(__m512 v) {
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(_mm512_set1_ps(1.0f)),
                                                           _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN))));
    return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one));
}

}  // namespace

HEARTH_AVX512 void quantize_row_q8_0_avx512(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(a), abs_ps(b)));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        const __m512 s = _mm512_set1_ps(id);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs), _mm512_cvtepi32_epi8(round_away(_mm512_mul_ps(a, s))));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16), _mm512_cvtepi32_epi8(round_away(_mm512_mul_ps(b, s))));
    }
}

HEARTH_AVX512 void quantize_row_q8_k_avx512(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
        __m512 v[16];
        __m512 m = _mm512_setzero_ps();
        for (int g = 0; g < 16; ++g) {
            v[g] = _mm512_loadu_ps(x + 16 * g);
            m = _mm512_max_ps(m, abs_ps(v[g]));
        }
        const float amax = _mm512_reduce_max_ps(m);
        if (amax == 0) {
            std::memset(&y[i], 0, sizeof(BlockQ8_K));
            continue;
        }
        // The first element of largest magnitude, as the reference picks it.
        float vmax = 0;
        const __m512 am = _mm512_set1_ps(amax);
        for (int g = 0; g < 16; ++g) {
            const __mmask16 k = _mm512_cmp_ps_mask(abs_ps(v[g]), am, _CMP_EQ_OQ);
            if (k) {
                vmax = x[16 * g + __builtin_ctz(k)];
                break;
            }
        }
        const float iscale = -127.0f / vmax;
        const __m512 s = _mm512_set1_ps(iscale);
        const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
        for (int g = 0; g < 16; ++g) {
            __m512i q = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(s, v[g]), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16 * g), _mm512_cvtepi32_epi8(q));
            y[i].bsums[g] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
        }
        y[i].d = 1.0f / iscale;
    }
}

}  // namespace hearth::quant

#else
#include "quant/kernels.h"
namespace hearth::quant {
void quantize_row_q8_0_avx512(const float* x, void* dst, int64_t n) { quantize_row_q8_0(x, dst, n); }
void quantize_row_q8_k_avx512(const float* x, void* dst, int64_t n) { quantize_row_q8_k(x, dst, n); }
}  // namespace hearth::quant
#endif
