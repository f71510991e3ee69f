// AVX2 tile kernels for the 32-element formats (Q4_0, Q5_0, Q8_0 against Q8_0 activations):
// up to 2 weight rows x 4 activation rows per inner step (16 ymm registers: 8 accumulators,
// the unpacked rows, one activation block). One block per register, with the per-row
// kernel's order of float operations (even blocks in one accumulator, odd blocks in
// another, run as two passes), so tile outputs equal the AVX2 vec_dot bit for bit.
// Q4_0/Q5_0 weights stay unsigned (maddubs cannot overflow at 31 x 128 x 2) and their
// offset comes off through the activation sums; Q8_0 uses the sign trick per pair.
// K-quants have no AVX2 tile: callers fall back to the per-row kernels.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <array>
#include <cstring>

#include "quant/blocks.h"
#include "quant/kernels.h"

#define HEARTH_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace hearth::quant {
namespace {

using TileFn = void (*)(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy);

HEARTH_AVX2 inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

HEARTH_AVX2 inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

HEARTH_AVX2 inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

HEARTH_AVX2 inline __m256i nibbles(const uint8_t* qs) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0xF));
}

// 0xFF in byte j where bit j of `bits` is set.
HEARTH_AVX2 inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i sel = _mm256_set1_epi64x(0x8040201008040201LL);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);
}

// Per format: the weight bytes of block x as maddubs wants them (unsigned), and how the
// pair (weights, activations) becomes 8 int32 lanes of sums of 4 products.
struct A2Q4_0 {
    using Block = BlockQ4_0;
    static constexpr bool kSigned = false;
    static constexpr int kShift = 3;
    HEARTH_AVX2 static __m256i unpack(const Block& b) { return nibbles(b.qs); }
};

struct A2Q5_0 {
    using Block = BlockQ5_0;
    static constexpr bool kSigned = false;
    static constexpr int kShift = 4;
    HEARTH_AVX2 static __m256i unpack(const Block& b) {
        return _mm256_or_si256(nibbles(b.qs), _mm256_and_si256(bits_to_bytes(load_u32(b.qh)), _mm256_set1_epi8(0x10)));
    }
};

struct A2Q8_0 {
    using Block = BlockQ8_0;
    static constexpr bool kSigned = true;
    static constexpr int kShift = 0;
    HEARTH_AVX2 static __m256i unpack(const Block& b) { return load(b.qs); }
};

template <class F, int R, int T>
HEARTH_AVX2 inline void step(const typename F::Block* const* x, const BlockQ8_0* const* q, int64_t i, __m256 (&acc)[R][T]) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256i u[R];
    float dw[R];
    for (int r = 0; r < R; ++r) {
        u[r] = F::unpack(x[r][i]);
        dw[r] = h2f(x[r][i].d);
    }
    for (int t = 0; t < T; ++t) {
        const __m256i yv = load(q[t][i].qs);
        const float dy = h2f(q[t][i].d);
        if constexpr (F::kSigned) {
            for (int r = 0; r < R; ++r) {
                const __m256i p = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(_mm256_sign_epi8(u[r], u[r]), _mm256_sign_epi8(yv, u[r])), ones16);
                acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dy), _mm256_cvtepi32_ps(p), acc[r][t]);
            }
        } else {
            const __m256i off = _mm256_slli_epi32(
                _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), yv), ones16), F::kShift);
            for (int r = 0; r < R; ++r) {
                const __m256i p = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(u[r], yv), ones16), off);
                acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dy), _mm256_cvtepi32_ps(p), acc[r][t]);
            }
        }
    }
}

template <class F>
struct Tile {
    template <int R, int T>
    HEARTH_AVX2 static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy) {
        using B = typename F::Block;
        const B* x[R];
        const BlockQ8_0* q[T];
        for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const B*>(w + r * ws);
        for (int t = 0; t < T; ++t) q[t] = reinterpret_cast<const BlockQ8_0*>(a + t * as);
        __m256 acc[R][T];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
        const int64_t nb = n / kQK;
        for (int64_t i = 0; i < nb; i += 2) step<F, R, T>(x, q, i, acc);
        alignas(32) float part[R][T][8];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < T; ++t) {
                _mm256_store_ps(part[r][t], acc[r][t]);
                acc[r][t] = _mm256_setzero_ps();
            }
        for (int64_t i = 1; i < nb; i += 2) step<F, R, T>(x, q, i, acc);
        for (int t = 0; t < T; ++t)
            for (int r = 0; r < R; ++r) y[t * ldy + r] = hsum(_mm256_add_ps(_mm256_load_ps(part[r][t]), acc[r][t]));
    }
};

constexpr int kRows = 2, kTokens = 4;

template <class K, int R>
constexpr std::array<TileFn, kTokens> tiles_for_rows() {
    return {&K::template run<R, 1>, &K::template run<R, 2>, &K::template run<R, 3>, &K::template run<R, 4>};
}

template <class K>
void gemm(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr, int64_t nt) {
    static constexpr std::array<std::array<TileFn, kTokens>, kRows> table = {tiles_for_rows<K, 1>(), tiles_for_rows<K, 2>()};
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(act);
    if (nt == 1) {  // decode: one sequential stream per row, as in the AVX-512 set
        for (int64_t r = 0; r < nr; ++r) table[0][0](wb + static_cast<size_t>(r) * ws, ws, ab, as, n, y + r, ldy);
        return;
    }
    for (int64_t t0 = 0; t0 < nt; t0 += kTokens) {
        const int64_t tn = nt - t0 < kTokens ? nt - t0 : kTokens;
        for (int64_t r0 = 0; r0 < nr; r0 += kRows) {
            const int64_t rn = nr - r0 < kRows ? nr - r0 : kRows;
            table[rn - 1][tn - 1](wb + static_cast<size_t>(r0) * ws, ws, ab + static_cast<size_t>(t0) * as, as, n,
                                  y + static_cast<size_t>(t0) * ldy + r0, ldy);
        }
    }
}

}  // namespace

const GemmKernels& avx2_gemm_kernels() {
    static const GemmKernels k{gemm<Tile<A2Q4_0>>, gemm<Tile<A2Q5_0>>, gemm<Tile<A2Q8_0>>, nullptr, nullptr};
    return k;
}

}  // namespace hearth::quant

#else
#include "quant/kernels.h"
namespace hearth::quant {
const GemmKernels& avx2_gemm_kernels() {
    static const GemmKernels k{nullptr, nullptr, nullptr, nullptr, nullptr};
    return k;
}
}  // namespace hearth::quant
#endif
