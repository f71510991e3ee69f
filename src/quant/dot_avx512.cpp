// AVX-512 (F/BW/VL/VNNI) kernels for the hottest types of the default model (Q5_0, Q8_0,
// Q6_K, Q4_K) and Q4_0; the other types use the AVX2 set. The 32-element formats process
// two blocks per 512-bit register; vpdpbusd (unsigned x signed bytes into int32) replaces
// the maddubs/madd pair, and offsets such as Q5_0's -16 are applied by a second vpdpbusd
// against a constant, which is exact because vpdpbusd does not saturate.
#if defined(__x86_64__) || defined(__i386__)
#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/simd_avx512.h"

namespace hearth::quant {
namespace {

using namespace avx512;

// The 64 nibbles of two 16-byte quant arrays in element order: [lo(a), hi(a), lo(b), hi(b)].
HEARTH_AVX512 inline __m512i nibbles2(const uint8_t* a, const uint8_t* b) {
    const __m256i t = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1);
    const __m512i v = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(t));
    return _mm512_and_si512(_mm512_srlv_epi64(v, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4)), _mm512_set1_epi8(0xF));
}

// sum((q - off) * y) per 4 bytes, for unsigned q.
HEARTH_AVX512 inline __m512i dot_offset(__m512i q, __m512i y, __m512i off) {
    const __m512i z = _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_dpbusd_epi32(z, q, y), _mm512_dpbusd_epi32(z, off, y));
}

// Runs two-block steps over the row with two accumulators; an odd last block goes to the
// AVX2 kernel (`tail`). (Gathering 16 blocks' scales at once measured no faster here.)
template <class BW, class Step>
HEARTH_AVX512 inline float pairs(const BW* x, const BlockQ8_0* y, int64_t nb, Step step, float tail) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    auto scale = [&](int64_t i) HEARTH_AVX512 {
        return pair_scale(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d));
    };
    int64_t i = 0;
    for (; i + 3 < nb; i += 4) {
        acc0 = step(i, acc0, scale(i));
        acc1 = step(i + 2, acc1, scale(i + 2));
    }
    if (i + 1 < nb) acc0 = step(i, acc0, scale(i));
    return hsum512(_mm512_add_ps(acc0, acc1)) + tail;
}

HEARTH_AVX512 float dot_q8_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const int64_t nb = n / kQK;
    const float tail = (nb & 1) ? avx2_kernels().q8_0(x + nb - 1, y + nb - 1, kQK) : 0.f;
    return pairs(x, y, nb, [&](int64_t i, __m512 acc, __m512 s) HEARTH_AVX512 {
        // Signed x signed: |x| * (y with x's sign).
        const __m512i qx = pair256(x[i].qs, x[i + 1].qs);
        const __m512i qy = pair256(y[i].qs, y[i + 1].qs);
        const __m512i sy = _mm512_mask_sub_epi8(qy, _mm512_movepi8_mask(qx), _mm512_setzero_si512(), qy);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(qx), sy);
        return _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(p), acc);
    }, tail);
}

HEARTH_AVX512 float dot_q4_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const int64_t nb = n / kQK;
    const float tail = (nb & 1) ? avx2_kernels().q4_0(x + nb - 1, y + nb - 1, kQK) : 0.f;
    const __m512i eight = _mm512_set1_epi8(8);
    return pairs(x, y, nb, [&](int64_t i, __m512 acc, __m512 s) HEARTH_AVX512 {
        const __m512i q = nibbles2(x[i].qs, x[i + 1].qs);
        const __m512i p = dot_offset(q, pair256(y[i].qs, y[i + 1].qs), eight);
        return _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(p), acc);
    }, tail);
}

HEARTH_AVX512 float dot_q5_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    const int64_t nb = n / kQK;
    const float tail = (nb & 1) ? avx2_kernels().q5_0(x + nb - 1, y + nb - 1, kQK) : 0.f;
    const __m512i sixteen = _mm512_set1_epi8(16);
    return pairs(x, y, nb, [&](int64_t i, __m512 acc, __m512 s) HEARTH_AVX512 {
        // The fifth bits of both blocks form one 64-bit byte mask.
        const __mmask64 hb = static_cast<__mmask64>(load_u32(x[i].qh)) | (static_cast<__mmask64>(load_u32(x[i + 1].qh)) << 32);
        __m512i q = nibbles2(x[i].qs, x[i + 1].qs);
        q = _mm512_mask_add_epi8(q, hb, q, sixteen);
        const __m512i p = dot_offset(q, pair256(y[i].qs, y[i + 1].qs), sixteen);
        return _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(p), acc);
    }, tail);
}

// int16 index vector selecting scale g0+k (k = 0..3) for the k-th 128-bit lane.
HEARTH_AVX512 inline __m512i quad_index(int g0) {
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_setr_m128i(_mm_set1_epi16(static_cast<short>(g0)), _mm_set1_epi16(static_cast<short>(g0 + 1)))),
        _mm256_setr_m128i(_mm_set1_epi16(static_cast<short>(g0 + 2)), _mm_set1_epi16(static_cast<short>(g0 + 3))), 1);
}

HEARTH_AVX512 float dot_q6_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    const __m512i idx[4] = {quad_index(0), quad_index(4), quad_index(8), quad_index(12)};
    const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
    const __m512i shl = _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2), shr = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
        const __m512i sc = _mm512_zextsi256_si512(sc16);
        // q6 - 32: dot the unsigned 6-bit values, subtract 32 * sum(sc * bsums).
        const __m256i off = _mm256_madd_epi16(load256(y[i].bsums), sc16);
        __m512i sumi = _mm512_setzero_si512();
        for (int h = 0; h < 2; ++h) {
            // 64 low-nibble bytes cover elements 0..63 (low nibbles) and 64..127 (high).
            const __m512i l = load512(x[i].ql + 64 * h);
            const __m512i qh = _mm512_broadcast_i64x4(load256(x[i].qh + 32 * h));
            const __m512i q01 = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi64(qh, shl), m30));
            const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                                _mm512_and_si512(_mm512_srlv_epi64(qh, shr), m30));
            const __m512i p01 = _mm512_maddubs_epi16(q01, load512(y[i].qs + 128 * h));
            const __m512i p23 = _mm512_maddubs_epi16(q23, load512(y[i].qs + 128 * h + 64));
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p01, _mm512_permutexvar_epi16(idx[2 * h], sc)));
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p23, _mm512_permutexvar_epi16(idx[2 * h + 1], sc)));
        }
        __m256i s = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
        s = _mm256_sub_epi32(s, _mm256_slli_epi32(off, 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(s), acc);
    }
    return hsum256(acc);
}

HEARTH_AVX512 float dot_q4_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ4_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    // Scale index vectors: [2c x16 | 2c+1 x16] as int16 lanes.
    __m512i idx[4];
    for (int c = 0; c < 4; ++c)
        idx[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(static_cast<short>(2 * c))),
                                    _mm256_set1_epi16(static_cast<short>(2 * c + 1)), 1);
    const __m512i m4 = _mm512_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        uint32_t a0, a1, a2;
        std::memcpy(&a0, x[i].scales, 4);
        std::memcpy(&a1, x[i].scales + 4, 4);
        std::memcpy(&a2, x[i].scales + 8, 4);
        // Six-bit scales (low 8 bytes) and mins (high 8 bytes), see k4_scale_min.
        const uint64_t scales = (a0 & 0x3F3F3F3Full) |
                                static_cast<uint64_t>((a2 & 0x0F0F0F0F) | (((a0 >> 6) & 0x03030303) << 4)) << 32;
        const uint64_t mins = (a1 & 0x3F3F3F3Full) |
                              static_cast<uint64_t>(((a2 >> 4) & 0x0F0F0F0F) | (((a1 >> 6) & 0x03030303) << 4)) << 32;
        const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mins));
        const __m256i msum = _mm256_madd_epi16(load256(y[i].bsums), _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)));
        const float dy = y[i].d;
        accm = _mm256_fmadd_ps(_mm256_set1_ps(-dy * h2f(x[i].dmin)), _mm256_cvtepi32_ps(msum), accm);
        const __m512i sc = _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(scales))));
        __m512i sumi = _mm512_setzero_si512();
        for (int c = 0; c < 4; ++c) {
            const __m256i q = load256(x[i].qs + 32 * c);
            const __m512i v = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), m4);
            const __m512i p = _mm512_maddubs_epi16(v, load512(y[i].qs + 64 * c));
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p, _mm512_permutexvar_epi16(idx[c], sc)));
        }
        const __m256i s = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * h2f(x[i].d)), _mm256_cvtepi32_ps(s), acc);
    }
    return hsum256(_mm256_add_ps(acc, accm));
}

}  // namespace

const DotKernels& avx512_kernels() {
    static const DotKernels k = [] {
        DotKernels t = avx2_kernels();
        t.q8_0 = dot_q8_0;
        t.q4_0 = dot_q4_0;
        t.q5_0 = dot_q5_0;
        t.q6_k = dot_q6_k;
        t.q4_k = dot_q4_k;
        return t;
    }();
    return k;
}

}  // namespace hearth::quant

#else
#include "quant/kernels.h"
namespace hearth::quant {
const DotKernels& avx512_kernels() { return avx2_kernels(); }
}  // namespace hearth::quant
#endif
