// AVX2 tile kernels for the 32-element formats (Q4_0, Q5_0, Q8_0 against Q8_0 activations):
// up to 2 weight rows x 4 activation rows per inner step (16 ymm registers: 8 accumulators,
// the unpacked rows, one activation block). One block per register, with the per-row
// kernel's order of float operations (even blocks in one accumulator, odd blocks in
// another, run as two passes), so tile outputs equal the AVX2 vec_dot bit for bit.
// Q4_0/Q5_0 weights stay unsigned (maddubs cannot overflow at 31 x 128 x 2) and their
// offset comes off through the activation sums; Q8_0 uses the sign trick per pair.
// K-quants have no AVX2 tile: callers fall back to the per-row kernels.
#if defined(__x86_64__) || defined(__i386__)
#include "quant/blocks.h"
#include "quant/gemm_driver.h"
#include "quant/kernels.h"
#include "quant/simd_avx2.h"

namespace hearth::quant {
namespace {

using namespace avx2;

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
    static constexpr int kRows = 2, kTokens = 4;

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

}  // namespace

const GemmKernels& avx2_gemm_kernels() {
    static const GemmKernels k{gemm_tiles<Tile<A2Q4_0>>, gemm_tiles<Tile<A2Q5_0>>, gemm_tiles<Tile<A2Q8_0>>, nullptr,
                               nullptr};
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
