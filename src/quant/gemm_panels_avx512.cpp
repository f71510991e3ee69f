// Panels: prefill for Q4_0, Q5_0 and Q8_0 weights against Q8_0 activations with rows in
// lanes (see gemm_panels_avx512.h).
//
// A row-major tile multiplies 64 weight bytes of one row by 64 activation bytes and gets 16
// partial sums of 4 products, each of which then needs its own conversion, scale product and
// multiply-add: three float operations per vpdpbusd, which bounded the Q8_0 prefill. Here a
// panel holds, for each block, eight vectors whose lane j is the j-th row's bytes 4g..4g+3
// (g = 0..7), and the activations' matching 4 bytes are broadcast from memory, so eight
// vpdpbusd leave 16 rows' complete block sums in one register and the float work is one
// conversion, one multiply and one multiply-add per block for 16 rows.
//
// Weights are unsigned (legacy_avx512.h) and activations signed; each block's integer sum is
// seeded with -(offset * sum of the block's activations), exact as vpdpbusd does not
// saturate. A panel of n inputs takes n / 32 * 576 bytes (16 rows x 36 bytes a block).
#if defined(__x86_64__) || defined(__i386__)
#include "quant/gemm_panels_avx512.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "quant/blocks.h"
#include "quant/gemm_driver.h"
#include "quant/legacy_avx512.h"
#include "quant/simd_avx512.h"

namespace hearth::quant::avx512 {
namespace {

constexpr int kPanelRows = 16;
constexpr int kTileTokens = 8;

// One activation block as the tiles read it: the quants (broadcast 4 bytes at a time), the
// scale as a float and the seed of the block's integer sum.
struct ActBlock {
    int8_t q[kQK];
    float d;
    int32_t seed;
};
static_assert(sizeof(ActBlock) == 40);

// One block of a panel: 8 vectors of 16 rows' 4-byte groups, then the 16 rows' scales.
struct alignas(64) PanelBlock {
    __m512i g[8];
    __m512 d;
};
static_assert(sizeof(PanelBlock) == 576);

template <int kShift>
HEARTH_AVX512 void prep_acts(const uint8_t* a, size_t as, int64_t nt, int64_t n, ActBlock* out) {
    const int64_t nb = n / kQK;
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int64_t t = 0; t < nt; ++t) {
        const auto* q = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * as);
        for (int64_t b = 0; b < nb; ++b, ++out) {
            const __m256i v = load256(q[b].qs);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out->q), v);
            // Sum of the quants: byte sums of q + 128, less 32 * 128.
            const __m256i s4 = _mm256_sad_epu8(_mm256_xor_si256(v, flip), _mm256_setzero_si256());
            const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
            const int32_t sum = static_cast<int32_t>(_mm_cvtsi128_si64(_mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2)))) - kQK * 128;
            out->d = h2f(q[b].d);
            out->seed = -sum * (1 << kShift);
        }
    }
}

// v[k] holds rows k and k + 8 (dwords 0..7 each); afterwards v[g] holds dword g of rows 0..15.
// Three rounds, each trading one bit of the vector index for one bit of the lane index.
HEARTH_AVX512 inline void transpose_16x8(__m512i (&v)[8]) {
    alignas(64) static constexpr int32_t kIdx[3][2][16] = {
        {{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}, {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}},
        {{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29}, {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}},
        {{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27}, {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}},
    };
    for (int s = 0; s < 3; ++s) {
        const __m512i lo = _mm512_load_si512(kIdx[s][0]), hi = _mm512_load_si512(kIdx[s][1]);
        const int m = 1 << s;
        for (int k = 0; k < 8; ++k) {
            if (k & m) continue;
            const __m512i a = v[k], b = v[k | m];
            v[k] = _mm512_permutex2var_epi32(a, lo, b);
            v[k | m] = _mm512_permutex2var_epi32(a, hi, b);
        }
    }
}

// Rows w[0..nr) (nr <= 16; the rest of the panel is zero) into nb panel blocks.
template <class F>
HEARTH_AVX512 void prep_panel(const uint8_t* w, size_t ws, int64_t nr, int64_t n, PanelBlock* out) {
    using B = typename F::Block;
    const int64_t nb = n / kQK;
    const B* rows[kPanelRows];
    for (int j = 0; j < kPanelRows; ++j) rows[j] = reinterpret_cast<const B*>(w + static_cast<size_t>(j < nr ? j : 0) * ws);
    for (int64_t b = 0; b < nb; b += 2) {
        const bool two = b + 1 < nb;
        __m512i u[kPanelRows];
        alignas(32) uint16_t d[2][kPanelRows];
        for (int j = 0; j < kPanelRows; ++j) {
            __m512 unused;
            if (j >= nr) u[j] = _mm512_setzero_si512();
            else if (two) unpack_pair<F, true>(rows[j] + b, u[j], unused);
            else unpack_pair<F, false>(rows[j] + b, u[j], unused);
            d[0][j] = j < nr ? rows[j][b].d : 0;
            d[1][j] = j < nr && two ? rows[j][b + 1].d : 0;
        }
        for (int h = 0; h < (two ? 2 : 1); ++h) {
            __m512i v[8];
            for (int k = 0; k < 8; ++k)
                v[k] = h == 0 ? _mm512_shuffle_i64x2(u[k], u[k + 8], 0x44) : _mm512_shuffle_i64x2(u[k], u[k + 8], 0xEE);
            transpose_16x8(v);
            PanelBlock& o = out[b + h];
            for (int g = 0; g < 8; ++g) o.g[g] = v[g];
            o.d = _mm512_cvtph_ps(load256(d[h]));
        }
    }
}

// A panel (16 rows, lanes past `rows` are not stored) against T activation rows.
template <int T>
HEARTH_AVX512 void panel_tile(const PanelBlock* p, const ActBlock* a, size_t arow_blocks, int64_t nb, float* y,
                              size_t ldy, __mmask16 rows) {
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b, ++p) {
        const ActBlock* ab[T];
        __m512i s[T];
        for (int t = 0; t < T; ++t) {
            ab[t] = a + static_cast<size_t>(t) * arow_blocks + b;
            s[t] = _mm512_set1_epi32(ab[t]->seed);
        }
        for (int g = 0; g < 8; ++g) {
            const __m512i wv = _mm512_load_si512(&p->g[g]);
            for (int t = 0; t < T; ++t) s[t] = _mm512_dpbusd_epi32(s[t], wv, _mm512_set1_epi32(load_u32(reinterpret_cast<const uint8_t*>(ab[t]->q) + 4 * g)));
        }
        for (int t = 0; t < T; ++t)
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), _mm512_mul_ps(p->d, _mm512_set1_ps(ab[t]->d)), acc[t]);
    }
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + static_cast<size_t>(t) * ldy, rows, acc[t]);
}

using PanelTileFn = void (*)(const PanelBlock*, const ActBlock*, size_t, int64_t, float*, size_t, __mmask16);

constexpr std::array<PanelTileFn, kTileTokens> kTiles = []<int... I>(std::integer_sequence<int, I...>) {
    return std::array<PanelTileFn, kTileTokens>{&panel_tile<I + 1>...};
}(std::make_integer_sequence<int, kTileTokens>());

// Tokens outer, panels inner, as in gemm_tiles: a chunk of panels (near 128 KiB) is laid out
// and stays in cache while the token tiles pass over it, and the next chunk's rows are
// prefetched a slice per tile meanwhile.
template <class F>
HEARTH_AVX512 void gemm_panels(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy,
                               int64_t nr, int64_t nt) {
    thread_local std::vector<detail::Line> abuf, wbuf;
    const int64_t nb = n / kQK;
    const size_t arow = static_cast<size_t>(nb);
    auto* pa = reinterpret_cast<ActBlock*>(detail::scratch(abuf, arow * sizeof(ActBlock) * static_cast<size_t>(nt)));
    prep_acts<F::kShift>(static_cast<const uint8_t*>(act), as, nt, n, pa);

    const size_t pbytes = static_cast<size_t>(nb) * sizeof(PanelBlock);
    const int64_t n_panels = (nr + kPanelRows - 1) / kPanelRows;
    const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>((size_t{128} << 10) / pbytes), 1, 4);
    auto* pw = reinterpret_cast<PanelBlock*>(detail::scratch(wbuf, pbytes * static_cast<size_t>(std::min(chunk, n_panels))));
    const auto* wb = static_cast<const uint8_t*>(w);
    const int64_t n_tt = (nt + kTileTokens - 1) / kTileTokens;
    for (int64_t p0 = 0; p0 < n_panels; p0 += chunk) {
        const int64_t pn = std::min(chunk, n_panels - p0);
        const int64_t r0 = p0 * kPanelRows, rn = std::min<int64_t>(pn * kPanelRows, nr - r0);
        for (int64_t p = 0; p < pn; ++p)
            prep_panel<F>(wb + static_cast<size_t>(r0 + p * kPanelRows) * ws, ws, std::min<int64_t>(kPanelRows, rn - p * kPanelRows),
                          n, pw + p * nb);
        detail::NextChunkPrefetch pf(wb + static_cast<size_t>(r0 + rn) * ws, ws,
                                     r0 + rn < nr ? std::min(chunk * kPanelRows, nr - r0 - rn) : chunk * kPanelRows, n_tt * pn);
        for (int64_t t0 = 0; t0 < nt; t0 += kTileTokens) {
            const int64_t tn = std::min<int64_t>(kTileTokens, nt - t0);
            for (int64_t p = 0; p < pn; ++p) {
                pf.slice();
                const int64_t rows = std::min<int64_t>(kPanelRows, rn - p * kPanelRows);
                kTiles[static_cast<size_t>(tn - 1)](pw + p * nb, pa + static_cast<size_t>(t0) * arow, arow, nb,
                                                    y + static_cast<size_t>(t0) * ldy + r0 + p * kPanelRows, ldy,
                                                    static_cast<__mmask16>((1u << rows) - 1));
            }
        }
    }
}

}  // namespace

void gemm_panels_q4_0(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
                      int64_t nt) {
    gemm_panels<FmtQ4_0>(w, ws, act, as, n, y, ldy, nr, nt);
}
void gemm_panels_q5_0(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
                      int64_t nt) {
    gemm_panels<FmtQ5_0>(w, ws, act, as, n, y, ldy, nr, nt);
}
void gemm_panels_q8_0(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
                      int64_t nt) {
    gemm_panels<FmtQ8_0>(w, ws, act, as, n, y, ldy, nr, nt);
}

}  // namespace hearth::quant::avx512
#endif
