// AVX2 + FMA (+F16C) dot products. Compiled for baseline x86-64: every function carries its
// own target attribute and is only called after the CPU check in dispatch.cpp.
//
// Integer trick used throughout: _mm256_maddubs_epi16 multiplies unsigned by signed bytes and
// adds adjacent pairs into int16; _mm256_madd_epi16 then widens to int32. Weight quants are
// kept unsigned where the format allows (offsets and minimums are applied afterwards through
// the activation block sums), or made unsigned with the sign trick |x| * (y * sign(x)).
#if defined(__x86_64__) || defined(__i386__)
#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/simd_avx2.h"

namespace hearth::quant {
namespace {

using namespace avx2;

// 8 int32 lanes, each the sum of 4 products of unsigned bytes ux with signed bytes y.
HEARTH_AVX2 inline __m256i dot_u8(__m256i ux, __m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ux, y), _mm256_set1_epi16(1));
}

// Same for signed x (no -128 in x).
HEARTH_AVX2 inline __m256i dot_s8(__m256i x, __m256i y) {
    return dot_u8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// Two 16-element groups per 32 lanes: int16 scale vector [s[k] x8 | s[k+1] x8] from 16
// int8 scales held in an xmm register.
HEARTH_AVX2 inline __m256i pair_scales(__m128i s8, int k) {
    const __m128i idx = _mm_unpacklo_epi64(_mm_set1_epi8(static_cast<char>(k)), _mm_set1_epi8(static_cast<char>(k + 1)));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, idx));
}

// ---------------------------------------------------------------- float rows

HEARTH_AVX2 float dot_f32(const void* w, const void* a, int64_t n) {
    const float* x = static_cast<const float*>(w);
    const float* y = static_cast<const float*>(a);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) s += x[i] * y[i];
    return s;
}

HEARTH_AVX2 inline __m256 load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

HEARTH_AVX2 float dot_f16(const void* w, const void* a, int64_t n) {
    const uint16_t* x = static_cast<const uint16_t*>(w);
    const float* y = static_cast<const float*>(a);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_f16(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(load_f16(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_f16(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_f16(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_f16(x + i), _mm256_loadu_ps(y + i), s0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) s += h2f(x[i]) * y[i];
    return s;
}

HEARTH_AVX2 inline __m256 load_bf16(const uint16_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

HEARTH_AVX2 float dot_bf16(const void* w, const void* a, int64_t n) {
    const uint16_t* x = static_cast<const uint16_t*>(w);
    const float* y = static_cast<const float*>(a);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_bf16(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(load_bf16(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_bf16(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_bf16(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_bf16(x + i), _mm256_loadu_ps(y + i), s0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) {
        uint32_t u = static_cast<uint32_t>(x[i]) << 16;
        float f;
        std::memcpy(&f, &u, 4);
        s += f * y[i];
    }
    return s;
}

// ---------------------------------------------------------------- 32-element blocks

// Runs `block(i)` -> (scale, int32 sums) over all blocks with two accumulators.
template <class Block>
HEARTH_AVX2 inline float sum_blocks(int64_t nb, Block block) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        acc0 = block(i, acc0);
        acc1 = block(i + 1, acc1);
    }
    if (i < nb) acc0 = block(i, acc0);
    return hsum(_mm256_add_ps(acc0, acc1));
}

HEARTH_AVX2 float dot_q8_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    return sum_blocks(n / kQK, [&](int64_t i, __m256 acc) HEARTH_AVX2 {
        const __m256i p = dot_s8(load(x[i].qs), load(y[i].qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc);
    });
}

HEARTH_AVX2 float dot_q4_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    return sum_blocks(n / kQK, [&](int64_t i, __m256 acc) HEARTH_AVX2 {
        const __m256i q = _mm256_sub_epi8(nibbles(x[i].qs), bytes(8));
        const __m256i p = dot_s8(q, load(y[i].qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc);
    });
}

HEARTH_AVX2 float dot_q5_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    return sum_blocks(n / kQK, [&](int64_t i, __m256 acc) HEARTH_AVX2 {
        // q - 16 in two's complement: nibble, with the high nibble all ones where bit 5 is clear.
        const __m256i hi = _mm256_andnot_si256(bits_to_bytes(load_u32(x[i].qh)), bytes(0xF0));
        const __m256i q = _mm256_or_si256(nibbles(x[i].qs), hi);
        const __m256i p = dot_s8(q, load(y[i].qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc);
    });
}

// Q4_1/Q5_1: d*dy*sum(q*qy) + m*dy*sum(qy); sum(qy) from a multiply by ones.
template <class B>
HEARTH_AVX2 inline float dot_affine(const B* x, const BlockQ8_0* y, int64_t nb) {
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        __m256i q = nibbles(x[i].qs);
        if constexpr (sizeof(B) == sizeof(BlockQ5_1))
            q = _mm256_or_si256(q, _mm256_and_si256(bits_to_bytes(load_u32(x[i].qh)), bytes(0x10)));
        const __m256i qy = load(y[i].qs);
        const float dy = h2f(y[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * dy), _mm256_cvtepi32_ps(dot_u8(q, qy)), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].m) * dy), _mm256_cvtepi32_ps(dot_u8(bytes(1), qy)), accm);
    }
    return hsum(_mm256_add_ps(acc, accm));
}

HEARTH_AVX2 float dot_q4_1(const void* w, const void* a, int64_t n) {
    return dot_affine(static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_0*>(a), n / kQK);
}

HEARTH_AVX2 float dot_q5_1(const void* w, const void* a, int64_t n) {
    return dot_affine(static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_0*>(a), n / kQK);
}

// ---------------------------------------------------------------- K-quants (256-element blocks)

HEARTH_AVX2 float dot_q2_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ2_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = y[i].d * h2f(x[i].d), dmin = y[i].d * h2f(x[i].dmin);
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
        const __m128i sc = _mm_and_si128(raw, _mm_set1_epi8(0xF));
        const __m128i mn = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0xF));
        const __m256i msum = _mm256_madd_epi16(load(y[i].bsums), _mm256_cvtepu8_epi16(mn));
        accm = _mm256_fmadd_ps(_mm256_set1_ps(-dmin), _mm256_cvtepi32_ps(msum), accm);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load(x[i].qs + 32 * h);
            for (int s = 0; s < 4; ++s) {
                const __m256i qs = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), bytes(3));
                const __m256i p = _mm256_maddubs_epi16(qs, load(y[i].qs + 128 * h + 32 * s));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pair_scales(sc, 8 * h + 2 * s)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(_mm256_add_ps(acc, accm));
}

HEARTH_AVX2 float dot_q3_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ3_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    __m256 acc = _mm256_setzero_ps();
    int8_t scales[16];
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        q3k_scales(x[i].scales, scales);
        const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales));
        // q3 = (q2 + 4*hbit) - 4: dot the unsigned part, subtract 4 * sum(sc * bsums).
        const __m256i off = _mm256_madd_epi16(load(y[i].bsums), _mm256_cvtepi8_epi16(sc));
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 2));
        const __m256i hm = load(x[i].hmask);
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load(x[i].qs + 32 * h);
            for (int s = 0; s < 4; ++s) {
                const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), bytes(3));
                const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + s), bytes(1)), 2);
                const __m256i p = _mm256_maddubs_epi16(_mm256_or_si256(q2, hb), load(y[i].qs + 128 * h + 32 * s));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pair_scales(sc, 8 * h + 2 * s)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc);
}

// The 8 six-bit scales and 8 mins of a Q4_K/Q5_K block, as bytes.
inline void k4_unpack(const uint8_t* s, uint8_t sc[8], uint8_t mn[8]) {
    uint32_t a0, a1, a2;
    std::memcpy(&a0, s, 4);
    std::memcpy(&a1, s + 4, 4);
    std::memcpy(&a2, s + 8, 4);
    const uint32_t sc_lo = a0 & 0x3F3F3F3F;
    const uint32_t sc_hi = (a2 & 0x0F0F0F0F) | (((a0 >> 6) & 0x03030303) << 4);
    const uint32_t m_lo = a1 & 0x3F3F3F3F;
    const uint32_t m_hi = ((a2 >> 4) & 0x0F0F0F0F) | (((a1 >> 6) & 0x03030303) << 4);
    std::memcpy(sc, &sc_lo, 4);
    std::memcpy(sc + 4, &sc_hi, 4);
    std::memcpy(mn, &m_lo, 4);
    std::memcpy(mn + 4, &m_hi, 4);
}

// Group mins of Q4_K/Q5_K: 8 int32 lanes of m[g] * (bsums[2g] + bsums[2g+1]).
HEARTH_AVX2 inline __m256i k4_min_sums(const uint8_t mn[8], const int16_t* bsums) {
    const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(mn));
    return _mm256_madd_epi16(load(bsums), _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)));
}

template <bool Five>
HEARTH_AVX2 inline float dot_k4(const uint8_t* base, size_t stride, const BlockQ8_K* y, int64_t nb) {
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* blk = base + stride * static_cast<size_t>(i);
        uint16_t dh, dmh;
        std::memcpy(&dh, blk, 2);
        std::memcpy(&dmh, blk + 2, 2);
        uint8_t sc[8], mn[8];
        k4_unpack(blk + 4, sc, mn);
        const float d = y[i].d * h2f(dh), dmin = y[i].d * h2f(dmh);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(-dmin), _mm256_cvtepi32_ps(k4_min_sums(mn, y[i].bsums)), accm);
        const uint8_t* qs = blk + (Five ? 48 : 16);
        __m256i hb = Five ? load(blk + 16) : _mm256_setzero_si256();
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
            const __m256i q = load(qs + 32 * c);
            __m256i lo = _mm256_and_si256(q, bytes(0xF));
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), bytes(0xF));
            if (Five) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hb, bytes(1)), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), bytes(1)), 4));
                hb = _mm256_srli_epi16(hb, 2);
            }
            const __m256i plo = _mm256_maddubs_epi16(lo, load(y[i].qs + 64 * c));
            const __m256i phi = _mm256_maddubs_epi16(hi, load(y[i].qs + 64 * c + 32));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(plo, _mm256_set1_epi16(sc[2 * c])));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(phi, _mm256_set1_epi16(sc[2 * c + 1])));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(_mm256_add_ps(acc, accm));
}

HEARTH_AVX2 float dot_q4_k(const void* w, const void* a, int64_t n) {
    return dot_k4<false>(static_cast<const uint8_t*>(w), sizeof(BlockQ4_K), static_cast<const BlockQ8_K*>(a), n / kQK_K);
}

HEARTH_AVX2 float dot_q5_k(const void* w, const void* a, int64_t n) {
    return dot_k4<true>(static_cast<const uint8_t*>(w), sizeof(BlockQ5_K), static_cast<const BlockQ8_K*>(a), n / kQK_K);
}

HEARTH_AVX2 float dot_q6_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
        // q6 - 32: dot the unsigned 6-bit values, subtract 32 * sum(sc * bsums).
        const __m256i off = _mm256_madd_epi16(load(y[i].bsums), _mm256_cvtepi8_epi16(sc));
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
        for (int h = 0; h < 2; ++h) {
            const __m256i l0 = load(x[i].ql + 64 * h);
            const __m256i l1 = load(x[i].ql + 64 * h + 32);
            const __m256i qh = load(x[i].qh + 32 * h);
            const __m256i m4 = bytes(0xF), m30 = bytes(0x30);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            for (int s = 0; s < 4; ++s) {
                const __m256i p = _mm256_maddubs_epi16(q[s], load(y[i].qs + 128 * h + 32 * s));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pair_scales(sc, 8 * h + 2 * s)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc);
}

}  // namespace

const DotKernels& avx2_kernels() {
    static const DotKernels k{dot_f32,  dot_f16,  dot_bf16, dot_q4_0, dot_q4_1, dot_q5_0, dot_q5_1,
                              dot_q8_0, dot_q2_k, dot_q3_k, dot_q4_k, dot_q5_k, dot_q6_k};
    return k;
}

}  // namespace hearth::quant

#else
#include "quant/kernels.h"
namespace hearth::quant {
const DotKernels& avx2_kernels() { return scalar_kernels(); }
}  // namespace hearth::quant
#endif
