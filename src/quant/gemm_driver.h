#pragma once
// The tile loop shared by every SIMD level's prefill kernels (gemm_avx2.cpp,
// gemm_avx512.cpp): it cuts a block of nr weight rows x nt activation rows into tiles and
// calls a per-ISA micro-kernel K on each. K provides
//   kRows, kTokens                      the largest tile;
//   template <int R, int T> run(...)    one R x T tile (R <= kRows, T <= kTokens) on the
//                                       operands as stored (TileFn below);
// and may also prepare operands once per call, for tiles that then skip unpacking:
//   kPrepared = true, w_bytes(n), prep_w(w, ws, nr, n, out), run_prepared<R, T>(...), and
//   optionally act_bytes(n), prep_act(a, as, nt, n, out) (activations as given otherwise),
//   and run_act_prepared<R, T>(...): raw weights against prepared activations.
// Preparing weights pays off once a weight row serves more than one token tile. Preparing
// activations pays off whenever a call has more than one row, since a raw tile redoes each
// activation's preparation for every row tile: with one token tile of 2-4 tokens (batched
// decode of a few sequences) the weights stay raw and only the activations are prepared.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace hearth::quant {

using TileFn = void (*)(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y, size_t ldy);

namespace detail {

// Which operands a tile takes prepared.
enum class Prep { kNone, kBoth, kActs };

template <class K, Prep P, int R, int T>
constexpr TileFn entry() {
    if constexpr (P == Prep::kBoth) return &K::template run_prepared<R, T>;
    else if constexpr (P == Prep::kActs) return &K::template run_act_prepared<R, T>;
    else return &K::template run<R, T>;
}

// Every tile shape, row-major: entry (R - 1) * kTokens + (T - 1).
template <class K, Prep P>
constexpr std::array<TileFn, K::kRows * K::kTokens> tile_table() {
    std::array<TileFn, K::kRows * K::kTokens> t{};
    [&]<int... I>(std::integer_sequence<int, I...>) {
        ((t[I] = entry<K, P, I / K::kTokens + 1, I % K::kTokens + 1>()), ...);
    }(std::make_integer_sequence<int, K::kRows * K::kTokens>());
    return t;
}

// Scratch for prepared operands, 64-byte aligned for full-width loads; one per thread,
// reused across calls so prefill allocates nothing per matrix.
struct alignas(64) Line {
    uint8_t b[64];
};
inline uint8_t* scratch(std::vector<Line>& v, size_t bytes) {
    if (v.size() * sizeof(Line) < bytes) v.resize((bytes + sizeof(Line) - 1) / sizeof(Line));
    return v.data()->b;
}

template <class K>
concept Prepares = K::kPrepared;

// Rows of weights laid out at a time: up to 64 (a tile row group's worth for prefill), fewer
// when a row's layout is large (K-quants over a wide input), so a chunk stays near 128 KiB
// and, with the activations and the next chunk in flight, well inside L2.
template <class K>
constexpr int64_t chunk_rows(size_t prepared_row_bytes) {
    const int64_t fit = static_cast<int64_t>((size_t{128} << 10) / prepared_row_bytes) / K::kRows * K::kRows;
    return fit < K::kRows ? K::kRows : (fit > 64 ? 64 : fit);
}

// While one chunk of laid-out rows computes, the raw rows of the next chunk are prefetched
// into L2 a slice per tile, so the memory stream continues during the arithmetic. `rows`
// start after the chunk (the last chunk of a call reaches past it: the caller's next row
// block, as a rule); a prefetch is a hint and never faults.
class NextChunkPrefetch {
public:
    NextChunkPrefetch(const uint8_t* rows, size_t row_bytes, int64_t n_rows, int64_t n_tiles)
        : p_(reinterpret_cast<const char*>(rows)), end_(p_ + static_cast<size_t>(n_rows) * row_bytes) {
        const int64_t lines = (end_ - p_ + 63) / 64;
        per_tile_ = (lines + n_tiles - 1) / n_tiles;
    }
    // Before each tile.
    void slice() {
        for (int64_t l = 0; l < per_tile_ && p_ < end_; ++l, p_ += 64) __builtin_prefetch(p_, 0, 2);
    }

private:
    const char* p_;
    const char* end_;
    int64_t per_tile_ = 0;
};

template <class K>
concept PreparesActsAlone = K::kPrepared && requires { K::template run_act_prepared<1, 1>; };

}  // namespace detail

// Tokens outer, rows inner: the caller's block of weight rows stays in cache while the
// activation tiles stream past it.
template <class K>
void gemm_tiles(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
                int64_t nt) {
    static constexpr auto raw = detail::tile_table<K, detail::Prep::kNone>();
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(act);
    // One token (decode): rows one at a time. A single sequential stream from memory keeps
    // the hardware prefetcher ahead; interleaved row streams measured 30-50% slower out of
    // cache. Kernels that can lay activations out alone do so even for one token (below): with
    // the weight rows prefetched 4 KiB ahead, dropping the per-row activation work measured
    // Q4_K_M decode +13% at 1 thread (35.9 -> 40.6 t/s) and +3-5% at 2; with the earlier 256-byte
    // prefetch it had measured 5-7% slower, the activation work then hiding in memory stalls.
    if (nt == 1 && !detail::PreparesActsAlone<K>) {
        for (int64_t r = 0; r < nr; ++r) raw[0](wb + static_cast<size_t>(r) * ws, ws, ab, as, n, y + r, ldy);
        return;
    }
    const TileFn* table = raw.data();
    if constexpr (detail::Prepares<K>) {
        // One token tile (1-4 tokens: a decode step of that many sequences): rows one at a
        // time too, each unpacked once for all tokens. Out of cache this measured up to
        // 1.5x faster than 4-row tiles, whose interleaved streams leave the memory system
        // idle while they compute (Q8_0 151936 x 896, 2 tokens: 13-14 ms against 19 ms).
        if (nt <= K::kTokens) {
            size_t row_as = as;
            if constexpr (detail::PreparesActsAlone<K>) {
                static constexpr auto act_prepared = detail::tile_table<K, detail::Prep::kActs>();
                thread_local std::vector<detail::Line> abuf;
                uint8_t* pa = detail::scratch(abuf, K::act_bytes(n) * static_cast<size_t>(nt));
                K::prep_act(ab, as, nt, n, pa);
                ab = pa;
                row_as = K::act_bytes(n);
                table = act_prepared.data();
            }
            const TileFn one_row = table[static_cast<size_t>(nt - 1)];
            for (int64_t r = 0; r < nr; ++r) one_row(wb + static_cast<size_t>(r) * ws, ws, ab, row_as, n, y + r, ldy);
            return;
        }
    }
    if constexpr (detail::Prepares<K>) {
        if (nt > K::kTokens) {
            static constexpr auto prepared = detail::tile_table<K, detail::Prep::kBoth>();
            thread_local std::vector<detail::Line> abuf, wbuf;
            if constexpr (requires { K::prep_act; }) {
                uint8_t* pa = detail::scratch(abuf, K::act_bytes(n) * static_cast<size_t>(nt));
                K::prep_act(ab, as, nt, n, pa);
                ab = pa;
                as = K::act_bytes(n);
            }
            // Weights are laid out a chunk of rows at a time, and while one chunk's tiles
            // compute, the next chunk's raw rows are prefetched into L2 a slice per tile.
            // Otherwise the memory stream stops during the arithmetic and every prep_w waits
            // on its loads: at 16 batched sequences prep_w spent ~60% of its time stalled.
            const size_t pws = K::w_bytes(n);
            const int64_t chunk = detail::chunk_rows<K>(pws);
            uint8_t* pw = detail::scratch(wbuf, pws * static_cast<size_t>(std::min(nr, chunk)));
            const int64_t n_tt = (nt + K::kTokens - 1) / K::kTokens;
            for (int64_t c0 = 0; c0 < nr; c0 += chunk) {
                const int64_t cn = std::min(chunk, nr - c0);
                K::prep_w(wb + static_cast<size_t>(c0) * ws, ws, cn, n, pw);
                detail::NextChunkPrefetch pf(wb + static_cast<size_t>(c0 + cn) * ws, ws,
                                             c0 + cn < nr ? std::min(chunk, nr - c0 - cn) : chunk,
                                             n_tt * ((cn + K::kRows - 1) / K::kRows));
                for (int64_t t0 = 0; t0 < nt; t0 += K::kTokens) {
                    const int64_t tn = nt - t0 < K::kTokens ? nt - t0 : K::kTokens;
                    for (int64_t r0 = 0; r0 < cn; r0 += K::kRows) {
                        const int64_t rn = cn - r0 < K::kRows ? cn - r0 : K::kRows;
                        pf.slice();
                        prepared[(rn - 1) * K::kTokens + (tn - 1)](pw + static_cast<size_t>(r0) * pws, pws,
                                                                   ab + static_cast<size_t>(t0) * as, as, n,
                                                                   y + static_cast<size_t>(t0) * ldy + c0 + r0, ldy);
                    }
                }
            }
            return;
        }
    }
    for (int64_t t0 = 0; t0 < nt; t0 += K::kTokens) {
        const int64_t tn = nt - t0 < K::kTokens ? nt - t0 : K::kTokens;
        for (int64_t r0 = 0; r0 < nr; r0 += K::kRows) {
            const int64_t rn = nr - r0 < K::kRows ? nr - r0 : K::kRows;
            table[(rn - 1) * K::kTokens + (tn - 1)](wb + static_cast<size_t>(r0) * ws, ws, ab + static_cast<size_t>(t0) * as,
                                                    as, n, y + static_cast<size_t>(t0) * ldy + r0, ldy);
        }
    }
}

}  // namespace hearth::quant
