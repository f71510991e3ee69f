// AVX-512 (F/BW/VL/VNNI) micro-kernels for the tile loop in gemm_driver.h: up to 4 weight
// rows x 4 activation rows per tile, 16 float accumulators held in registers.
//
// 32-element formats (Q4_0, Q5_0, Q8_0 against Q8_0 activations) take two blocks per 512-bit
// register and keep the per-row kernel's order of float operations (bit-identical results).
// Weights are made unsigned (Q8_0: x + 128; Q5_0: q; Q4_0: q) so vpdpbusd applies directly;
// the offset (128, 16 or 8) times the sum of each 4 activation bytes seeds the integer
// accumulator negated, which is exact (vpdpbusd does not saturate). When a call has more
// than one token tile, both operands are first laid out once per call in that unpacked
// form (weights: unsigned bytes and scales; activations: bytes, scales and offset seeds), so
// the tiles do nothing but load, vpdpbusd, convert, scale and accumulate; unpacking a Q5_0
// pair in the tile had cost about as much as the arithmetic it fed. These are the decode
// kernels (avx512_gemm_kernels); prompt rows of the 32-element formats go through the panels
// of gemm_panels_avx512.cpp instead (avx512_prefill_gemm_kernels).
//
// K-quants (Q4_K, Q6_K against Q8_K) go 64 elements at a time with per-group float scales,
// and their minimums/offsets through the activations' 16-element sums.
#if defined(__x86_64__) || defined(__i386__)
#include <cstring>

#include "quant/blocks.h"
#include "quant/gemm_driver.h"
#include "quant/gemm_panels_avx512.h"
#include "quant/kernels.h"
#include "quant/legacy_avx512.h"
#include "quant/simd_avx512.h"

namespace hearth::quant {
namespace {

using namespace avx512;

// ---------------------------------------------------------------- 32-element formats

// How far ahead a one-row (decode) stream prefetches: 4 KiB measured 5-8% faster decode than
// 256 bytes at 1 thread (Q8_0 33.1-34.4 -> 35.6-35.9 t/s), the hardware prefetcher alone
// keeping too few lines in flight to cover the memory latency at one token per weight read.
// (The same prefetch added to the K-quant one-row tiles measured no difference.)
constexpr int kPrefetch = 4096;

// A pair of Q8_0 activation blocks as the tiles use them: quants, the two scales as 16
// floats, and -(offset * sum of each 4 quants) for a format's offset (1 << kShift).
struct alignas(64) ActPair {
    __m512i q;
    __m512 s;
    __m512i mo;
};

// A pair of weight blocks unpacked: unsigned bytes and scales.
struct alignas(64) WPair {
    __m512i u;
    __m512 s;
};

template <int kShift, bool Two>
HEARTH_AVX512 inline ActPair act_pair(const BlockQ8_0* q) {
    ActPair e;
    e.q = Two ? pair256(q[0].qs, q[1].qs) : _mm512_zextsi256_si512(load256(q[0].qs));
    e.s = pair_scale(h2f(q[0].d), Two ? h2f(q[1].d) : 0.f);
    const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), e.q);
    e.mo = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, kShift));
    return e;
}

// Operand sources for legacy_tile; i is a block index (even, or the odd last block).
template <class F>
struct RawWeights {
    const typename F::Block* x;
    const char* ahead;  // what to prefetch, at the same offset as x's block i
    template <bool Two>
    HEARTH_AVX512 void get(int64_t i, __m512i& u, __m512& sw) const {
        // The hardware prefetcher alone leaves most of the bandwidth unused at one token per
        // weight read.
        _mm_prefetch(ahead + i * static_cast<int64_t>(sizeof(typename F::Block)), _MM_HINT_T0);
        unpack_pair<F, Two>(x + i, u, sw);
    }
    // One row (decode): a little ahead in the same sequential stream. A tile of R rows: the
    // next tile's rows (they follow in memory), so they arrive while this tile computes;
    // prefetching within the tile's own R interleaved rows measured up to 3x slower than the
    // one-row stream per weight byte.
    static RawWeights at(const uint8_t* w, size_t ws, int r, int R) {
        const auto* row = w + static_cast<size_t>(r) * ws;
        return {reinterpret_cast<const typename F::Block*>(row),
                reinterpret_cast<const char*>(row) + (R == 1 ? kPrefetch : static_cast<size_t>(R) * ws)};
    }
};

struct PreparedWeights {
    const WPair* p;
    template <bool Two>
    HEARTH_AVX512 void get(int64_t i, __m512i& u, __m512& sw) const {
        u = p[i / 2].u;
        sw = p[i / 2].s;
    }
};

template <int kShift>
struct RawActs {
    const BlockQ8_0* q;
    template <bool Two>
    HEARTH_AVX512 ActPair get(int64_t i) const { return act_pair<kShift, Two>(q + i); }
};

struct PreparedActs {
    const ActPair* p;
    template <bool Two>
    HEARTH_AVX512 ActPair get(int64_t i) const { return p[i / 2]; }
};

template <int R, int T, bool Two, class W, class A>
HEARTH_AVX512 inline void legacy_step(const W (&w)[R], const A (&a)[T], int64_t i, __m512 (&acc)[R][T]) {
    __m512i u[R];
    __m512 sw[R];
    for (int r = 0; r < R; ++r) w[r].template get<Two>(i, u[r], sw[r]);
    for (int t = 0; t < T; ++t) {
        const ActPair e = a[t].template get<Two>(i);
        for (int r = 0; r < R; ++r) {
            const __m512i p = _mm512_dpbusd_epi32(e.mo, u[r], e.q);
            acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(sw[r], e.s), acc[r][t]);
        }
    }
}

// hsum512 of each of x[0..15] at once, lane 4q + e holding the sum of x[4e + q]: four rounds
// of shuffles and adds instead of sixteen separate reductions, which for a 4 x 4 tile over a
// short row (896 inputs, 14 block pairs) had cost about a tenth of the tile. Each round adds
// the same pairs of partial sums as hsum512 (halves of 256, 128, 64, 32 bits), and float
// addition is commutative, so every sum is hsum512's bit for bit.
HEARTH_AVX512 inline __m512 hsum512_x16(const __m512 (&x)[16]) {
    __m512 h8[8], h4[4];
    for (int j = 0; j < 8; ++j)
        h8[j] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * j], x[2 * j + 1], 0x44),
                              _mm512_shuffle_f32x4(x[2 * j], x[2 * j + 1], 0xEE));
    for (int m = 0; m < 4; ++m)
        h4[m] = _mm512_add_ps(_mm512_shuffle_f32x4(h8[2 * m], h8[2 * m + 1], 0x88),
                              _mm512_shuffle_f32x4(h8[2 * m], h8[2 * m + 1], 0xDD));
    const __m512 h2a = _mm512_add_ps(_mm512_shuffle_ps(h4[0], h4[1], 0x44), _mm512_shuffle_ps(h4[0], h4[1], 0xEE));
    const __m512 h2b = _mm512_add_ps(_mm512_shuffle_ps(h4[2], h4[3], 0x44), _mm512_shuffle_ps(h4[2], h4[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(h2a, h2b, 0x88), _mm512_shuffle_ps(h2a, h2b, 0xDD));
}

// A full 4 x 4 tile's sums, s lane 4t + r = output (r, t): one 128-bit store per token.
HEARTH_AVX512 inline void store_4x4(__m512 s, float* y, size_t ldy) {
    _mm_storeu_ps(y, _mm512_castps512_ps128(s));
    _mm_storeu_ps(y + ldy, _mm512_extractf32x4_ps(s, 1));
    _mm_storeu_ps(y + 2 * ldy, _mm512_extractf32x4_ps(s, 2));
    _mm_storeu_ps(y + 3 * ldy, _mm512_extractf32x4_ps(s, 3));
}

// One R x T tile over nb blocks. The same order of float operations as the per-row kernel
// (dot_avx512.cpp): pairs starting at block 4k in one accumulator, pairs at 4k+2 in another,
// an odd last block on its own, so a tile's outputs equal vec_dot's bit for bit. Small tiles
// (decode's one row, batched decode's one row of 2-4 tokens) keep both accumulator sets in
// registers and read the row once, front to back; a full tile's two sets (16 registers each)
// run as two passes with the first parked in memory.
template <int R, int T, class W, class A>
HEARTH_AVX512 inline void legacy_tile(const W (&w)[R], const A (&a)[T], int64_t nb, float* y, size_t ldy) {
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    alignas(64) float part[R][T][16];
    if constexpr (R * T <= 8) {
        __m512 acc2[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc2[r][t] = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 3 < nb; i += 4) {
            legacy_step<R, T, true>(w, a, i, acc);
            legacy_step<R, T, true>(w, a, i + 2, acc2);
        }
        if (i + 1 < nb) legacy_step<R, T, true>(w, a, i, acc);
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                _mm512_store_ps(part[r][t], acc[r][t]);
                acc[r][t] = acc2[r][t];
            }
    } else {
        for (int64_t i = 0; i + 1 < nb; i += 4) legacy_step<R, T, true>(w, a, i, acc);
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                _mm512_store_ps(part[r][t], acc[r][t]);
                acc[r][t] = _mm512_setzero_ps();
            }
        for (int64_t i = 2; i + 1 < nb; i += 4) legacy_step<R, T, true>(w, a, i, acc);
    }
    if constexpr (R == 4 && T == 4) {
        __m512 x[16];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) x[4 * r + t] = _mm512_add_ps(_mm512_load_ps(part[r][t]), acc[r][t]);
        __m512 s = hsum512_x16(x);
        if (nb & 1) {
            for (int r = 0; r < R; ++r)
                for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
            legacy_step<R, T, false>(w, a, nb - 1, acc);
            for (int r = 0; r < R; ++r)
                for (int t = 0; t < T; ++t) x[4 * r + t] = acc[r][t];
            s = _mm512_add_ps(s, hsum512_x16(x));
        }
        store_4x4(s, y, ldy);
        return;
    }
    float sum[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) {
            sum[r][t] = hsum512(_mm512_add_ps(_mm512_load_ps(part[r][t]), acc[r][t]));
            acc[r][t] = _mm512_setzero_ps();
        }
    if (nb & 1) {
        legacy_step<R, T, false>(w, a, nb - 1, acc);
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) sum[r][t] += hsum512(acc[r][t]);
    }
    for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) y[t * ldy + r] = sum[r][t];
}

template <class F>
struct LegacyKernel {
    static constexpr int kRows = 4, kTokens = 4;
    static constexpr bool kPrepared = true;
    using B = typename F::Block;

    static int64_t pairs(int64_t n) { return (n / kQK + 1) / 2; }
    static size_t act_bytes(int64_t n) { return static_cast<size_t>(pairs(n)) * sizeof(ActPair); }
    static size_t w_bytes(int64_t n) { return static_cast<size_t>(pairs(n)) * sizeof(WPair); }

    HEARTH_AVX512 static void prep_act(const uint8_t* a, size_t as, int64_t nt, int64_t n, uint8_t* out) {
        const int64_t nb = n / kQK, np = pairs(n);
        auto* o = reinterpret_cast<ActPair*>(out);
        for (int64_t t = 0; t < nt; ++t, o += np) {
            const auto* q = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * as);
            for (int64_t i = 0; i + 1 < nb; i += 2) o[i / 2] = act_pair<F::kShift, true>(q + i);
            if (nb & 1) o[np - 1] = act_pair<F::kShift, false>(q + nb - 1);
        }
    }

    HEARTH_AVX512 static void prep_w(const uint8_t* w, size_t ws, int64_t nr, int64_t n, uint8_t* out) {
        const int64_t nb = n / kQK, np = pairs(n);
        auto* o = reinterpret_cast<WPair*>(out);
        for (int64_t r = 0; r < nr; ++r, o += np) {
            const B* x = reinterpret_cast<const B*>(w + static_cast<size_t>(r) * ws);
            for (int64_t i = 0; i + 1 < nb; i += 2) unpack_pair<F, true>(x + i, o[i / 2].u, o[i / 2].s);
            if (nb & 1) unpack_pair<F, false>(x + nb - 1, o[np - 1].u, o[np - 1].s);
        }
    }

    template <int R, int T>
    HEARTH_AVX512 static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy) {
        RawWeights<F> wr[R];
        RawActs<F::kShift> ar[T];
        for (int r = 0; r < R; ++r) wr[r] = RawWeights<F>::at(w, ws, r, R);
        for (int t = 0; t < T; ++t) ar[t].q = reinterpret_cast<const BlockQ8_0*>(a + t * as);
        legacy_tile<R, T>(wr, ar, n / kQK, y, ldy);
    }

    template <int R, int T>
    HEARTH_AVX512 static void run_act_prepared(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n,
                                               float* y, size_t ldy) {
        RawWeights<F> wr[R];
        PreparedActs ar[T];
        for (int r = 0; r < R; ++r) wr[r] = RawWeights<F>::at(w, ws, r, R);
        for (int t = 0; t < T; ++t) ar[t].p = reinterpret_cast<const ActPair*>(a + t * as);
        legacy_tile<R, T>(wr, ar, n / kQK, y, ldy);
    }

    template <int R, int T>
    HEARTH_AVX512 static void run_prepared(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y,
                                           size_t ldy) {
        PreparedWeights wr[R];
        PreparedActs ar[T];
        for (int r = 0; r < R; ++r) wr[r].p = reinterpret_cast<const WPair*>(w + r * ws);
        for (int t = 0; t < T; ++t) ar[t].p = reinterpret_cast<const ActPair*>(a + t * as);
        legacy_tile<R, T>(wr, ar, n / kQK, y, ldy);
    }
};

// ---------------------------------------------------------------- K-quants

// acc[r][t] += v (8 int32 lanes) * s, in the low half.
HEARTH_AVX512 inline __m512 add_low(__m512 acc, __m256i v, float s) {
    return _mm512_fmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(v)), _mm512_set1_ps(s), acc);
}

struct Q4KTile {
    static constexpr int kRows = 4, kTokens = 4;
    template <int R, int T>
    HEARTH_AVX512 static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy) {
        const BlockQ4_K* x[R];
        const BlockQ8_K* q[T];
        for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const BlockQ4_K*>(w + r * ws);
        for (int t = 0; t < T; ++t) q[t] = reinterpret_cast<const BlockQ8_K*>(a + t * as);
        __m512 acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
        const __m512i m4 = _mm512_set1_epi8(0xF);
        for (int64_t i = 0; i < n / kQK_K; ++i) {
            float d[R], dmin[R];
            uint8_t sc[R][8];
            __m256i mins[R];
            for (int r = 0; r < R; ++r) {
                const BlockQ4_K& b = x[r][i];
                uint32_t a0, a1, a2;
                std::memcpy(&a0, b.scales, 4);
                std::memcpy(&a1, b.scales + 4, 4);
                std::memcpy(&a2, b.scales + 8, 4);
                const uint32_t s_lo = a0 & 0x3F3F3F3F, s_hi = (a2 & 0x0F0F0F0F) | (((a0 >> 6) & 0x03030303) << 4);
                const uint64_t mn = (a1 & 0x3F3F3F3Full) |
                                    static_cast<uint64_t>(((a2 >> 4) & 0x0F0F0F0F) | (((a1 >> 6) & 0x03030303) << 4)) << 32;
                std::memcpy(sc[r], &s_lo, 4);
                std::memcpy(sc[r] + 4, &s_hi, 4);
                const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mn));
                mins[r] = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
                d[r] = h2f(b.d);
                dmin[r] = h2f(b.dmin);
            }
            float dy[T];
            for (int t = 0; t < T; ++t) {
                dy[t] = q[t][i].d;
                const __m256i bs = load256(q[t][i].bsums);
                for (int r = 0; r < R; ++r) acc[r][t] = add_low(acc[r][t], _mm256_madd_epi16(bs, mins[r]), -dmin[r] * dy[t]);
            }
            for (int c = 0; c < 4; ++c) {
                __m512i u[R];
                __m512 fs[R];
                for (int r = 0; r < R; ++r) {
                    const __m256i qv = load256(x[r][i].qs + 32 * c);
                    u[r] = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(qv), _mm256_srli_epi16(qv, 4), 1), m4);
                    fs[r] = pair_scale(d[r] * sc[r][2 * c], d[r] * sc[r][2 * c + 1]);
                }
                for (int t = 0; t < T; ++t) {
                    const __m512i yv = _mm512_loadu_si512(q[t][i].qs + 64 * c);
                    const __m512 dyv = _mm512_set1_ps(dy[t]);
                    for (int r = 0; r < R; ++r) {
                        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[r], yv);
                        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(fs[r], dyv), acc[r][t]);
                    }
                }
            }
        }
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) y[t * ldy + r] = hsum512(acc[r][t]);
    }
};

struct Q6KTile {
    static constexpr int kRows = 4, kTokens = 4;
    template <int R, int T>
    HEARTH_AVX512 static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy) {
        const BlockQ6_K* x[R];
        const BlockQ8_K* q[T];
        for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const BlockQ6_K*>(w + r * ws);
        for (int t = 0; t < T; ++t) q[t] = reinterpret_cast<const BlockQ8_K*>(a + t * as);
        __m512 acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
        const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
        const __m512i shl = _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2), shr = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
        for (int64_t i = 0; i < n / kQK_K; ++i) {
            float d[R];
            __m128i s8[R];
            for (int r = 0; r < R; ++r) {
                d[r] = h2f(x[r][i].d);
                s8[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[r][i].scales));
            }
            float dy[T];
            for (int t = 0; t < T; ++t) {
                dy[t] = q[t][i].d;
                const __m256i bs = load256(q[t][i].bsums);
                // q6 - 32: the unsigned quants are dotted below; subtract 32 * sum(sc * bsums) here.
                for (int r = 0; r < R; ++r)
                    acc[r][t] = add_low(acc[r][t], _mm256_madd_epi16(bs, _mm256_cvtepi8_epi16(s8[r])), -32.f * d[r] * dy[t]);
            }
            for (int c = 0; c < 4; ++c) {
                const int h = c >> 1, k = c & 1, g0 = 4 * c;
                const __m128i gidx = _mm_setr_epi8(static_cast<char>(g0), static_cast<char>(g0), static_cast<char>(g0), static_cast<char>(g0),
                                                   static_cast<char>(g0 + 1), static_cast<char>(g0 + 1), static_cast<char>(g0 + 1), static_cast<char>(g0 + 1),
                                                   static_cast<char>(g0 + 2), static_cast<char>(g0 + 2), static_cast<char>(g0 + 2), static_cast<char>(g0 + 2),
                                                   static_cast<char>(g0 + 3), static_cast<char>(g0 + 3), static_cast<char>(g0 + 3), static_cast<char>(g0 + 3));
                __m512i u[R];
                __m512 fs[R];
                for (int r = 0; r < R; ++r) {
                    const __m512i l = _mm512_loadu_si512(x[r][i].ql + 64 * h);
                    const __m512i qh = _mm512_broadcast_i64x4(load256(x[r][i].qh + 32 * h));
                    u[r] = k == 0 ? _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi64(qh, shl), m30))
                                  : _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                                    _mm512_and_si512(_mm512_srlv_epi64(qh, shr), m30));
                    fs[r] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_shuffle_epi8(s8[r], gidx))), _mm512_set1_ps(d[r]));
                }
                for (int t = 0; t < T; ++t) {
                    const __m512i yv = _mm512_loadu_si512(q[t][i].qs + 64 * c);
                    const __m512 dyv = _mm512_set1_ps(dy[t]);
                    for (int r = 0; r < R; ++r) {
                        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[r], yv);
                        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(fs[r], dyv), acc[r][t]);
                    }
                }
            }
        }
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) y[t * ldy + r] = hsum512(acc[r][t]);
    }
};

// A K-quant super-block unpacked for the tiles: per 64-element chunk the unsigned quants and
// the float scale of each 32-element half; and the offset part (Q4_K: the minimums, Q6_K:
// the -32 of q6 - 32) as int16 multipliers of the activations' 16-element sums and a float
// scale. Laid out once per call, as for the 32-element formats.
struct alignas(64) KPrep {
    __m512i u[4];
    __m512 fs[4];
    __m256i off;
    float off_scale;
};

template <class Raw, class Block, void (*Unpack)(const Block&, KPrep&)>
struct KQuantKernel {
    static constexpr int kRows = Raw::kRows, kTokens = Raw::kTokens;
    static constexpr bool kPrepared = true;

    template <int R, int T>
    HEARTH_AVX512 static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy) {
        Raw::template run<R, T>(w, ws, a, as, n, y, ldy);
    }

    static size_t w_bytes(int64_t n) { return static_cast<size_t>(n / kQK_K) * sizeof(KPrep); }

    HEARTH_AVX512 static void prep_w(const uint8_t* w, size_t ws, int64_t nr, int64_t n, uint8_t* out) {
        auto* o = reinterpret_cast<KPrep*>(out);
        for (int64_t r = 0; r < nr; ++r) {
            const Block* x = reinterpret_cast<const Block*>(w + static_cast<size_t>(r) * ws);
            for (int64_t i = 0; i < n / kQK_K; ++i) Unpack(x[i], *o++);
        }
    }

    template <int R, int T>
    HEARTH_AVX512 static void run_prepared(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y,
                                           size_t ldy) {
        const KPrep* x[R];
        const BlockQ8_K* q[T];
        for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const KPrep*>(w + r * ws);
        for (int t = 0; t < T; ++t) q[t] = reinterpret_cast<const BlockQ8_K*>(a + t * as);
        __m512 acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
        for (int64_t i = 0; i < n / kQK_K; ++i) {
            float dy[T];
            for (int t = 0; t < T; ++t) {
                dy[t] = q[t][i].d;
                const __m256i bs = load256(q[t][i].bsums);
                for (int r = 0; r < R; ++r)
                    acc[r][t] = add_low(acc[r][t], _mm256_madd_epi16(bs, x[r][i].off), x[r][i].off_scale * dy[t]);
            }
            for (int c = 0; c < 4; ++c) {
                for (int t = 0; t < T; ++t) {
                    const __m512i yv = _mm512_loadu_si512(q[t][i].qs + 64 * c);
                    const __m512 dyv = _mm512_set1_ps(dy[t]);
                    for (int r = 0; r < R; ++r) {
                        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), x[r][i].u[c], yv);
                        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(x[r][i].fs[c], dyv), acc[r][t]);
                    }
                }
            }
        }
        if constexpr (R == 4 && T == 4) {
            __m512 v[16];
            for (int r = 0; r < R; ++r)
                for (int t = 0; t < T; ++t) v[4 * r + t] = acc[r][t];
            store_4x4(hsum512_x16(v), y, ldy);
            return;
        }
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) y[t * ldy + r] = hsum512(acc[r][t]);
    }
};

// The same unpacking as the raw tiles below.
HEARTH_AVX512 void unpack_q4k(const BlockQ4_K& b, KPrep& o) {
    uint32_t a0, a1, a2;
    std::memcpy(&a0, b.scales, 4);
    std::memcpy(&a1, b.scales + 4, 4);
    std::memcpy(&a2, b.scales + 8, 4);
    const uint32_t s_lo = a0 & 0x3F3F3F3F, s_hi = (a2 & 0x0F0F0F0F) | (((a0 >> 6) & 0x03030303) << 4);
    const uint64_t mn = (a1 & 0x3F3F3F3Full) | static_cast<uint64_t>(((a2 >> 4) & 0x0F0F0F0F) | (((a1 >> 6) & 0x03030303) << 4)) << 32;
    uint8_t sc[8];
    std::memcpy(sc, &s_lo, 4);
    std::memcpy(sc + 4, &s_hi, 4);
    const __m128i m8 = _mm_cvtsi64_si128(static_cast<long long>(mn));
    o.off = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    o.off_scale = -h2f(b.dmin);
    const float d = h2f(b.d);
    const __m512i m4 = _mm512_set1_epi8(0xF);
    for (int c = 0; c < 4; ++c) {
        const __m256i qv = load256(b.qs + 32 * c);
        o.u[c] = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(qv), _mm256_srli_epi16(qv, 4), 1), m4);
        o.fs[c] = pair_scale(d * sc[2 * c], d * sc[2 * c + 1]);
    }
}

HEARTH_AVX512 void unpack_q6k(const BlockQ6_K& b, KPrep& o) {
    const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
    const __m512i shl = _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2), shr = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
    const float d = h2f(b.d);
    const __m128i s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    o.off = _mm256_cvtepi8_epi16(s8);
    o.off_scale = -32.f * d;
    for (int c = 0; c < 4; ++c) {
        const int h = c >> 1, g0 = 4 * c;
        const __m512i l = _mm512_loadu_si512(b.ql + 64 * h);
        const __m512i qh = _mm512_broadcast_i64x4(load256(b.qh + 32 * h));
        o.u[c] = (c & 1) == 0 ? _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi64(qh, shl), m30))
                              : _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                                _mm512_and_si512(_mm512_srlv_epi64(qh, shr), m30));
        const __m128i gidx = _mm_setr_epi8(static_cast<char>(g0), static_cast<char>(g0), static_cast<char>(g0), static_cast<char>(g0),
                                           static_cast<char>(g0 + 1), static_cast<char>(g0 + 1), static_cast<char>(g0 + 1), static_cast<char>(g0 + 1),
                                           static_cast<char>(g0 + 2), static_cast<char>(g0 + 2), static_cast<char>(g0 + 2), static_cast<char>(g0 + 2),
                                           static_cast<char>(g0 + 3), static_cast<char>(g0 + 3), static_cast<char>(g0 + 3), static_cast<char>(g0 + 3));
        o.fs[c] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_shuffle_epi8(s8, gidx))), _mm512_set1_ps(d));
    }
}

}  // namespace

const GemmKernels& avx512_gemm_kernels() {
    static const GemmKernels k{gemm_tiles<LegacyKernel<FmtQ4_0>>, gemm_tiles<LegacyKernel<FmtQ5_0>>,
                               gemm_tiles<LegacyKernel<FmtQ8_0>>, gemm_tiles<KQuantKernel<Q4KTile, BlockQ4_K, unpack_q4k>>,
                               gemm_tiles<KQuantKernel<Q6KTile, BlockQ6_K, unpack_q6k>>};
    return k;
}

const GemmKernels& avx512_prefill_gemm_kernels() {
    const GemmKernels& d = avx512_gemm_kernels();
    static const GemmKernels k{avx512::gemm_panels_q4_0, avx512::gemm_panels_q5_0, avx512::gemm_panels_q8_0, d.q4_k, d.q6_k};
    return k;
}

}  // namespace hearth::quant

#else
#include "quant/kernels.h"
namespace hearth::quant {
const GemmKernels& avx512_gemm_kernels() { return avx2_gemm_kernels(); }
const GemmKernels& avx512_prefill_gemm_kernels() { return avx2_gemm_kernels(); }
}  // namespace hearth::quant
#endif
