#pragma once
// The 32-element formats (Q4_0, Q5_0, Q8_0) as the AVX-512 tile kernels read them: a pair of
// blocks of one row as unsigned bytes (Q8_0: x + 128; Q5_0: q; Q4_0: q) and their scales, for
// vpdpbusd against signed Q8_0 activations with the offset (1 << kShift) taken out through the
// activations' sums. Shared by the row-major tiles (gemm_avx512.cpp) and the panels that lay
// 16 rows side by side for prefill (gemm_panels_avx512.cpp).
#if defined(__x86_64__) || defined(__i386__)
#include <cstdint>

#include "quant/blocks.h"
#include "quant/simd_avx512.h"

namespace hearth::quant::avx512 {

// Unsigned weight bytes of blocks x[0] (and x[1] when Two) and log2 of their offset.
struct FmtQ8_0 {
    using Block = BlockQ8_0;
    static constexpr int kShift = 7;
    static constexpr bool kPacked = false;
    template <bool Two>
    HEARTH_AVX512 static __m512i unpack(const Block* x) {
        const __m512i v = Two ? pair256(x[0].qs, x[1].qs) : _mm512_zextsi256_si512(load256(x[0].qs));
        return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
    }
};

// Q5_0 and Q4_0: both blocks of a pair come in one masked 64-byte load (44 or 36 bytes; the
// mask keeps the load inside the row), then one 16-bit permute puts each block's 16 quant
// bytes in two 128-bit lanes, a per-lane shift picks the low or high nibbles, and a second
// permute lines up the two fp16 scales for one 16-lane conversion.
template <int kBlockBytes, int kQsWord, bool kHigh>
struct PackedPair {
    static constexpr short kA = kQsWord, kB = kQsWord + kBlockBytes / 2, kD = kBlockBytes / 2;
    alignas(64) static constexpr short kQIdx[32] = {kA, kA + 1, kA + 2, kA + 3, kA + 4, kA + 5, kA + 6, kA + 7,
                                                    kA, kA + 1, kA + 2, kA + 3, kA + 4, kA + 5, kA + 6, kA + 7,
                                                    kB, kB + 1, kB + 2, kB + 3, kB + 4, kB + 5, kB + 6, kB + 7,
                                                    kB, kB + 1, kB + 2, kB + 3, kB + 4, kB + 5, kB + 6, kB + 7};
    alignas(64) static constexpr short kDIdx[32] = {0, 0, 0, 0, 0, 0, 0, 0, kD, kD, kD, kD, kD, kD, kD, kD,
                                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    template <bool Two>
    HEARTH_AVX512 static void load(const void* p, __m512i& u, __m512& sw) {
        constexpr uint64_t mask = Two ? (~0ull >> (64 - 2 * kBlockBytes)) : (~0ull >> (64 - kBlockBytes));
        const __m512i v = _mm512_maskz_loadu_epi8(mask, p);
        const __m512i qidx = _mm512_loadu_si512(kQIdx);
        constexpr long long k4 = 0x0004000400040004LL;
        const __m512i shift = _mm512_setr_epi64(0, 0, k4, k4, 0, 0, k4, k4);
        u = _mm512_and_si512(_mm512_srlv_epi16(_mm512_permutexvar_epi16(qidx, v), shift), _mm512_set1_epi8(0xF));
        const __m512i didx = _mm512_loadu_si512(kDIdx);
        sw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(didx, v)));
        if constexpr (kHigh) {
            const auto* bytes = static_cast<const uint8_t*>(p);
            __mmask64 hb = static_cast<__mmask64>(load_u32(bytes + 2));
            if (Two) hb |= static_cast<__mmask64>(load_u32(bytes + kBlockBytes + 2)) << 32;
            u = _mm512_mask_add_epi8(u, hb, u, _mm512_set1_epi8(16));
        }
    }
};

struct FmtQ5_0 {
    using Block = BlockQ5_0;
    static constexpr int kShift = 4;
    static constexpr bool kPacked = true;
    using Pair = PackedPair<22, 3, true>;
};

struct FmtQ4_0 {
    using Block = BlockQ4_0;
    static constexpr int kShift = 3;
    static constexpr bool kPacked = true;
    using Pair = PackedPair<18, 1, false>;
};

// Blocks x[0] (and x[1] when Two) as unsigned bytes u and their scales sw (lanes 0..7 and
// 8..15; zero for a missing second block).
template <class F, bool Two>
HEARTH_AVX512 inline void unpack_pair(const typename F::Block* x, __m512i& u, __m512& sw) {
    if constexpr (F::kPacked) {
        F::Pair::template load<Two>(x, u, sw);
    } else {
        u = F::template unpack<Two>(x);
        sw = pair_scale(h2f(x[0].d), Two ? h2f(x[1].d) : 0.f);
    }
}

}  // namespace hearth::quant::avx512
#endif
