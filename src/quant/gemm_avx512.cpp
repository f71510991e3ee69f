// AVX-512 (F/BW/VL/VNNI) tile kernels: up to 4 weight rows x 4 activation rows per call of
// the inner loop, 16 float accumulators held in registers. Each weight block is unpacked
// once per tile and each activation block loaded once per tile, so unpacking costs are
// shared by 4 tokens and activation loads by 4 rows.
//
// 32-element formats (Q4_0, Q5_0, Q8_0 against Q8_0 activations) take two blocks per 512-bit
// register and keep the per-row kernel's order of float operations (bit-identical results). Weights are made unsigned (Q8_0: x + 128; Q5_0: q; Q4_0: q) so vpdpbusd applies
// directly; the offset (128, 16 or 8) times the sum of each 4 activation bytes is computed
// once per token and seeds the integer accumulator negated, which is exact (vpdpbusd does not
// saturate). K-quants (Q4_K, Q6_K against Q8_K) go 64 elements at a time with per-group float
// scales, and their minimums/offsets through the activations' 16-element sums.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <array>
#include <vector>
#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels.h"

#define HEARTH_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace hearth::quant {
namespace {

using TileFn = void (*)(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy);

HEARTH_AVX512 inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

HEARTH_AVX512 inline float hsum512(__m512 v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

HEARTH_AVX512 inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

HEARTH_AVX512 inline __m512i pair256(const void* a, const void* b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(a)), load256(b), 1);
}

// Lanes 0..7 = a, 8..15 = b.
HEARTH_AVX512 inline __m512 pair_scale(float a, float b) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(a)), _mm256_castps_pd(_mm256_set1_ps(b)), 1));
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// ---------------------------------------------------------------- 32-element formats

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

constexpr int kPrefetch = 256;


// A pair of Q8_0 activation blocks laid out for the tiles: quants, the two scales as 16
// floats, and -(offset * sum of each 4 quants) for a format's offset. Built once per token
// block of a prefill call (instead of once per 4-row tile), 192 bytes per 64 activations.
struct alignas(64) ActPair {
    __m512i q;
    __m512 s;
    __m512i mo;
};

template <int kShift, bool Two>
HEARTH_AVX512 inline ActPair act_pair(const BlockQ8_0* q, int64_t i) {
    ActPair e;
    e.q = Two ? pair256(q[i].qs, q[i + 1].qs) : _mm512_zextsi256_si512(load256(q[i].qs));
    e.s = pair_scale(h2f(q[i].d), Two ? h2f(q[i + 1].d) : 0.f);
    const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), e.q);
    e.mo = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, kShift));
    return e;
}

// X: activations come as ActPair rows (q[t] points at row t's pairs) rather than Q8_0 rows.
template <class F, int R, int T, bool Two, bool X>
HEARTH_AVX512 inline void legacy_step(const typename F::Block* const* x, const uint8_t* const* q, int64_t i,
                                      __m512 (&acc)[R][T]) {
    __m512i u[R];
    __m512 sw[R];
    for (int r = 0; r < R; ++r) {
        // Rows stream from memory several at a time; the hardware prefetcher alone leaves
        // most of the bandwidth unused at one token per weight read.
        _mm_prefetch(reinterpret_cast<const char*>(x[r] + i) + kPrefetch, _MM_HINT_T0);
        if constexpr (F::kPacked) {
            F::Pair::template load<Two>(x[r] + i, u[r], sw[r]);
        } else {
            u[r] = F::template unpack<Two>(x[r] + i);
            sw[r] = pair_scale(h2f(x[r][i].d), Two ? h2f(x[r][i + 1].d) : 0.f);
        }
    }
    for (int t = 0; t < T; ++t) {
        const ActPair e = X ? reinterpret_cast<const ActPair*>(q[t])[i / 2]
                            : act_pair<F::kShift, Two>(reinterpret_cast<const BlockQ8_0*>(q[t]), i);
        const __m512i yv = e.q, mo = e.mo;
        const __m512 st = e.s;
        for (int r = 0; r < R; ++r) {
            const __m512i p = _mm512_dpbusd_epi32(mo, u[r], yv);
            acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(sw[r], st), acc[r][t]);
        }
    }
}

template <class F, bool X = false>
struct LegacyTile {
    using Expanded = LegacyTile<F, true>;
    static constexpr int kShift = F::kShift;

    // ActPair rows for nt activation rows of n elements.
    HEARTH_AVX512 static void expand(const uint8_t* a, size_t as, int64_t nt, int64_t n, ActPair* out) {
        const int64_t nb = n / kQK, np = (nb + 1) / 2;
        for (int64_t t = 0; t < nt; ++t) {
            const auto* q = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * as);
            ActPair* o = out + t * np;
            for (int64_t i = 0; i + 1 < nb; i += 2) o[i / 2] = act_pair<F::kShift, true>(q, i);
            if (nb & 1) o[np - 1] = act_pair<F::kShift, false>(q, nb - 1);
        }
    }

    template <int R, int T>
    HEARTH_AVX512 static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy) {
        using B = typename F::Block;
        const B* x[R];
        const uint8_t* q[T];
        for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const B*>(w + r * ws);
        for (int t = 0; t < T; ++t) q[t] = a + t * as;
        __m512 acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
        // The same order of float operations as the per-row kernel (dot_avx512.cpp): pairs
        // starting at block 4k in one accumulator, pairs at 4k+2 in another, an odd last block
        // on its own, so a tile's outputs equal vec_dot's bit for bit. The two accumulator
        // sets run as two passes (16 registers each) with the first parked in memory.
        const int64_t nb = n / kQK;
        for (int64_t i = 0; i + 1 < nb; i += 4) legacy_step<F, R, T, true, X>(x, q, i, acc);
        alignas(64) float part[R][T][16];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                _mm512_store_ps(part[r][t], acc[r][t]);
                acc[r][t] = _mm512_setzero_ps();
            }
        for (int64_t i = 2; i + 1 < nb; i += 4) legacy_step<F, R, T, true, X>(x, q, i, acc);
        float sum[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                sum[r][t] = hsum512(_mm512_add_ps(_mm512_load_ps(part[r][t]), acc[r][t]));
                acc[r][t] = _mm512_setzero_ps();
            }
        if (nb & 1) {
            legacy_step<F, R, T, false, X>(x, q, nb - 1, acc);
            for (int r = 0; r < R; ++r)
                for (int t = 0; t < T; ++t) sum[r][t] += hsum512(acc[r][t]);
        }
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) y[t * ldy + r] = sum[r][t];
    }
};

// ---------------------------------------------------------------- K-quants

// acc[r][t] += v (8 int32 lanes) * s, in the low half.
HEARTH_AVX512 inline __m512 add_low(__m512 acc, __m256i v, float s) {
    return _mm512_fmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(v)), _mm512_set1_ps(s), acc);
}

struct Q4KTile {
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

// ---------------------------------------------------------------- driver

template <class K, int R>
constexpr std::array<TileFn, 4> tiles_for_rows() {
    return {&K::template run<R, 1>, &K::template run<R, 2>, &K::template run<R, 3>, &K::template run<R, 4>};
}

// Tokens outer, rows inner: the caller's block of weight rows stays in cache while the
// activation tiles stream past it.
template <class K>
void gemm(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr, int64_t nt) {
    static constexpr std::array<std::array<TileFn, 4>, 4> table = {tiles_for_rows<K, 1>(), tiles_for_rows<K, 2>(),
                                                                    tiles_for_rows<K, 3>(), tiles_for_rows<K, 4>()};
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(act);
    // One token (decode): rows one at a time. A single sequential stream from memory keeps
    // the hardware prefetcher ahead; four interleaved row streams measured 30-50% slower
    // out of cache, and at one token there is no unpacking to share.
    if (nt == 1) {
        for (int64_t r = 0; r < nr; ++r) table[0][0](wb + static_cast<size_t>(r) * ws, ws, ab, as, n, y + r, ldy);
        return;
    }
    if constexpr (requires { typename K::Expanded; }) {
        // Lay the activations out once for all the row tiles of this call.
        using KX = typename K::Expanded;
        static constexpr std::array<std::array<TileFn, 4>, 4> xtable = {tiles_for_rows<KX, 1>(), tiles_for_rows<KX, 2>(),
                                                                         tiles_for_rows<KX, 3>(), tiles_for_rows<KX, 4>()};
        const int64_t np = (n / kQK + 1) / 2;
        thread_local std::vector<ActPair> xa;
        if (xa.size() < static_cast<size_t>(nt * np)) xa.resize(static_cast<size_t>(nt * np));
        K::expand(ab, as, nt, n, xa.data());
        const auto* xb = reinterpret_cast<const uint8_t*>(xa.data());
        const size_t xs = static_cast<size_t>(np) * sizeof(ActPair);
        for (int64_t t0 = 0; t0 < nt; t0 += kGemmTokens) {
            const int64_t tn = nt - t0 < kGemmTokens ? nt - t0 : kGemmTokens;
            for (int64_t r0 = 0; r0 < nr; r0 += kGemmRows) {
                const int64_t rn = nr - r0 < kGemmRows ? nr - r0 : kGemmRows;
                xtable[rn - 1][tn - 1](wb + static_cast<size_t>(r0) * ws, ws, xb + static_cast<size_t>(t0) * xs, xs, n,
                                       y + static_cast<size_t>(t0) * ldy + r0, ldy);
            }
        }
        return;
    }
    for (int64_t t0 = 0; t0 < nt; t0 += kGemmTokens) {
        const int64_t tn = nt - t0 < kGemmTokens ? nt - t0 : kGemmTokens;
        for (int64_t r0 = 0; r0 < nr; r0 += kGemmRows) {
            const int64_t rn = nr - r0 < kGemmRows ? nr - r0 : kGemmRows;
            table[rn - 1][tn - 1](wb + static_cast<size_t>(r0) * ws, ws, ab + static_cast<size_t>(t0) * as, as, n,
                                  y + static_cast<size_t>(t0) * ldy + r0, ldy);
        }
    }
}

}  // namespace

const GemmKernels& avx512_gemm_kernels() {
    static const GemmKernels k{gemm<LegacyTile<FmtQ4_0>>, gemm<LegacyTile<FmtQ5_0>>, gemm<LegacyTile<FmtQ8_0>>,
                               gemm<Q4KTile>, gemm<Q6KTile>};
    return k;
}

}  // namespace hearth::quant

#else
#include "quant/kernels.h"
namespace hearth::quant {
const GemmKernels& avx512_gemm_kernels() { return avx2_gemm_kernels(); }
}  // namespace hearth::quant
#endif
