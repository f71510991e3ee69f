// Tiled matrix kernels and the matmul driver: every SIMD tile kernel against the scalar
// reference (each (row, token) pair through the scalar dot), on random and edge-case blocks
// and on shapes that are not multiples of the tile; and matmul() against per-row vec_dot.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "backend/cpu/matmul.h"
#include "core/dtype.h"
#include "core/thread_pool.h"
#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/quant.h"

using namespace hearth;
using namespace hearth::quant;

namespace {

const DType kTiled[] = {DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q6_K};

// Byte offsets of the fp16 scale fields of one block.
std::vector<int> scale_fields(DType t) {
    switch (t) {
        case DType::Q4_0: case DType::Q5_0: case DType::Q8_0: return {0};
        case DType::Q4_K: case DType::Q5_K: return {0, 2};
        case DType::Q6_K: return {208};
        default: return {};
    }
}

enum class Fill { Random, AllOnes, Min };

// `rows` rows of n elements of type t.
std::vector<uint8_t> make_matrix(DType t, int64_t rows, int64_t n, Fill fill, std::mt19937& rng) {
    const size_t rb = dtype_row_bytes(t, n);
    const size_t bb = dtype_info(t).block_bytes;
    std::vector<uint8_t> m(rb * static_cast<size_t>(rows));
    if (t == DType::F32 || t == DType::F16) {
        std::normal_distribution<float> nd(0.f, 1.f);
        for (size_t i = 0; i < m.size() / dtype_info(t).block_bytes; ++i) {
            const float v = nd(rng);
            if (t == DType::F32) std::memcpy(&m[4 * i], &v, 4);
            const uint16_t h = f32_to_fp16(v);
            if (t == DType::F16) std::memcpy(&m[2 * i], &h, 2);
        }
        return m;
    }
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : m) b = fill == Fill::AllOnes ? 0xFF : fill == Fill::Min ? 0x80 : static_cast<uint8_t>(byte(rng));
    std::normal_distribution<float> nd(0.f, 1.f);
    for (size_t blk = 0; blk < m.size() / bb; ++blk)
        for (int off : scale_fields(t)) {
            const float v = fill == Fill::Random ? 0.05f * nd(rng) : -0.03f;
            const uint16_t h = f32_to_fp16(v);
            std::memcpy(&m[blk * bb + static_cast<size_t>(off)], &h, 2);
        }
    return m;
}

struct Acts {
    std::vector<uint8_t> q;
    std::vector<float> f;
    size_t row = 0;
};

Acts make_acts(DType w, int64_t tokens, int64_t n, bool extreme, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.f, 1.f);
    Acts a;
    a.f.resize(static_cast<size_t>(tokens * n));
    for (size_t i = 0; i < a.f.size(); ++i) a.f[i] = extreme ? ((i & 1) ? 3.f : -3.f) : nd(rng);
    const DType at = vec_dot_type(w);
    a.row = dtype_row_bytes(at, n);
    a.q.resize(a.row * static_cast<size_t>(tokens));
    for (int64_t t = 0; t < tokens; ++t) quantize_row(at, a.f.data() + t * n, a.q.data() + t * a.row, n);
    return a;
}

// 1e-5 of the sum of |w_i * x_i| (plus a small absolute floor): the float summation error
// allowed between two orders of adding the same terms.
double bound(DType t, const uint8_t* wrow, const float* x, int64_t n) {
    std::vector<float> d(static_cast<size_t>(n));
    dequantize_row(t, wrow, d.data(), n);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(d[i]) * x[i]);
    // K-quants add the minimum/offset part separately from the scaled part; allow for both.
    return 2e-5 * s + 1e-4;
}

std::vector<std::pair<const char*, const GemmKernels*>> gemm_levels() {
    std::vector<std::pair<const char*, const GemmKernels*>> v;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        v.push_back({"avx2", &avx2_gemm_kernels()});
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vnni"))
    {
        v.push_back({"avx512", &avx512_gemm_kernels()});
        v.push_back({"avx512 prefill", &avx512_prefill_gemm_kernels()});
    }
#endif
    return v;
}

class GemmTile : public ::testing::TestWithParam<DType> {};

TEST_P(GemmTile, EveryLevelMatchesScalarReference) {
    const DType t = GetParam();
    const int64_t be = dtype_info(t).block_elems;
    std::mt19937 rng(static_cast<unsigned>(t) * 131 + 7);
    const GemmFn ref = pick_gemm(scalar_gemm_kernels(), t);
    ASSERT_NE(ref, nullptr);
    int checked = 0;
    for (const auto& [name, k] : gemm_levels()) {
        const GemmFn g = pick_gemm(*k, t);
        if (!g) continue;
        for (int64_t blocks : {1, 2, 3, 7}) {
            const int64_t n = blocks * be;
            for (Fill fill : {Fill::Random, Fill::AllOnes, Fill::Min}) {
                for (int64_t nr : {1, 2, 3, 4, 5, 8, 11}) {
                    for (int64_t nt : {1, 2, 3, 4, 5, 7, 9}) {
                        const auto w = make_matrix(t, nr, n, fill, rng);
                        const Acts a = make_acts(t, nt, n, fill != Fill::Random, rng);
                        const size_t rb = dtype_row_bytes(t, n), ldy = static_cast<size_t>(nr) + 3;
                        std::vector<float> want(ldy * static_cast<size_t>(nt), -1.f), got(want);
                        ref(w.data(), rb, a.q.data(), a.row, n, want.data(), ldy, nr, nt);
                        g(w.data(), rb, a.q.data(), a.row, n, got.data(), ldy, nr, nt);
                        for (int64_t tt = 0; tt < nt; ++tt) {
                            for (int64_t r = 0; r < nr; ++r) {
                                const size_t idx = static_cast<size_t>(tt) * ldy + static_cast<size_t>(r);
                                EXPECT_NEAR(got[idx], want[idx], bound(t, w.data() + r * rb, a.f.data() + tt * n, n))
                                    << dtype_name(t) << " " << name << " n=" << n << " nr=" << nr << " nt=" << nt
                                    << " fill=" << static_cast<int>(fill) << " r=" << r << " t=" << tt;
                            }
                            // Outputs outside the tile are untouched.
                            for (size_t r = static_cast<size_t>(nr); r < ldy; ++r)
                                EXPECT_EQ(got[static_cast<size_t>(tt) * ldy + r], -1.f);
                        }
                        ++checked;
                    }
                }
            }
        }
    }
    if (checked == 0) GTEST_SKIP() << "no SIMD tile kernel for " << dtype_name(t) << " on this CPU";
}

// The 32-element formats' tiles keep the per-row kernel's order of float operations, so at
// the AVX-512 level a tile equals vec_dot bit for bit: model outputs do not depend on
// whether a row went through a tile or the per-row kernel.
TEST_P(GemmTile, LegacyTilesEqualPerRowKernelExactly) {
    const DType t = GetParam();
    if (dtype_info(t).block_elems != 32) GTEST_SKIP() << "K-quant tiles order their sums differently";
    std::vector<std::pair<const GemmKernels*, const DotKernels*>> sets;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        sets.push_back({&avx2_gemm_kernels(), &avx2_kernels()});
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vnni"))
        sets.push_back({&avx512_gemm_kernels(), &avx512_kernels()});
#endif
    if (sets.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
    std::mt19937 rng(99);
    for (const auto& [gk, dk] : sets) {
        const GemmFn g = pick_gemm(*gk, t);
        const VecDotFn dot = pick(*dk, t);
        ASSERT_NE(g, nullptr);
        // nt 7 and 64 go through operands laid out once per call (more than one token tile),
        // nt 1 through the unpacking tiles; 16 x 64 is the block matmul hands out. 9 rows x
        // 1..17 tokens: batched decode of that many sequences, where 2-4 tokens take raw
        // weight rows one at a time against prepared activations.
        // 150 x 16: a batched decode's row block, laid out in chunks of 64 rows (the next
        // chunk prefetched while one computes), with a short last chunk and a last row group
        // that is not a full 4 x 4 tile.
        std::vector<std::pair<int64_t, int64_t>> shapes{{6, 7}, {16, 64}, {3, 4}, {150, 16}};
        for (int64_t nt = 1; nt <= 17; ++nt) shapes.push_back({9, nt});
        for (int64_t blocks : {1, 2, 3, 4, 5, 6, 7, 9, 28, 152}) {
            for (auto [nr, nt] : shapes) {
                if ((nt == 64 || nr == 150) && blocks > 28) continue;
                const int64_t n = blocks * 32;
                for (Fill fill : {Fill::Random, Fill::AllOnes, Fill::Min}) {
                    const auto w = make_matrix(t, nr, n, fill, rng);
                    const Acts a = make_acts(t, nt, n, fill != Fill::Random, rng);
                    const size_t rb = dtype_row_bytes(t, n);
                    std::vector<float> got(static_cast<size_t>(nr * nt));
                    for (int64_t one : {0, 1}) {
                        g(w.data(), rb, a.q.data(), a.row, n, got.data(), static_cast<size_t>(nr), nr, one ? 1 : nt);
                        for (int64_t tt = 0; tt < (one ? 1 : nt); ++tt)
                            for (int64_t r = 0; r < nr; ++r)
                                EXPECT_EQ(got[static_cast<size_t>(tt * nr + r)], dot(w.data() + r * rb, a.q.data() + tt * a.row, n))
                                    << dtype_name(t) << " blocks=" << blocks << " r=" << r << " t=" << tt << " fill=" << static_cast<int>(fill);
                    }
                }
            }
        }
    }
}

// The prefill kernels (prompt rows) sum each output's blocks in one fixed order too, so an
// output is the same bit for bit whichever row block, panel, chunk, token block or tile it is
// computed in, 1 token or 37: a prompt's results do not depend on how matmul cut the work up,
// how the prompt was cut into chunks and passes, or what it was batched with.
TEST_P(GemmTile, PanelSumsDoNotDependOnTheirTile) {
    const DType t = GetParam();
        std::mt19937 rng(static_cast<unsigned>(t) + 5);
    int checked = 0;
    for (const auto& [name, k] : gemm_levels()) {
        const GemmFn g = pick_gemm(*k, t);
        if (!g) continue;
        for (int64_t blocks : {1, 3, 28, 152}) {
            if (dtype_info(t).block_elems == 256 && blocks > 3) continue;
            const int64_t n = blocks * dtype_info(t).block_elems, nr = 150, nt = 37;
            const auto w = make_matrix(t, nr, n, Fill::Random, rng);
            const Acts a = make_acts(t, nt, n, false, rng);
            const size_t rb = dtype_row_bytes(t, n);
            std::vector<float> whole(static_cast<size_t>(nr * nt));
            g(w.data(), rb, a.q.data(), a.row, n, whole.data(), static_cast<size_t>(nr), nr, nt);
            // (first row, rows, first token, tokens): offsets that move rows across panel and
            // chunk boundaries and tokens across tile boundaries, and calls of 1-4 tokens.
            for (auto [r0, rn, t0, tn] : std::vector<std::array<int64_t, 4>>{
                     {0, 150, 3, 34}, {5, 145, 0, 37}, {17, 23, 9, 5}, {149, 1, 30, 7}, {64, 70, 1, 13}, {3, 40, 20, 1}, {33, 2, 0, 4}}) {
                std::vector<float> part(static_cast<size_t>(rn * tn));
                g(w.data() + static_cast<size_t>(r0) * rb, rb, a.q.data() + static_cast<size_t>(t0) * a.row, a.row, n,
                  part.data(), static_cast<size_t>(rn), rn, tn);
                for (int64_t tt = 0; tt < tn; ++tt)
                    for (int64_t r = 0; r < rn; ++r)
                        ASSERT_EQ(part[static_cast<size_t>(tt * rn + r)], whole[static_cast<size_t>((t0 + tt) * nr + r0 + r)])
                            << dtype_name(t) << " blocks=" << blocks << " r0=" << r0 << " t0=" << t0 << " r=" << r << " t=" << tt;
            }
            ++checked;
        }
    }
    if (checked == 0) GTEST_SKIP() << "no SIMD tile kernel for " << dtype_name(t) << " on this CPU";
}

// Many rows and 5-16 tokens take the prepared path in chunks of rows (fewer rows per chunk
// for wide K-quant rows); every chunk boundary and the partial last one against the scalar
// reference.
TEST_P(GemmTile, ChunkedPreparedRowsMatchScalarReference) {
    const DType t = GetParam();
    const int64_t n = (dtype_info(t).block_elems == 256 ? 20 : 28) * dtype_info(t).block_elems;
    std::mt19937 rng(static_cast<unsigned>(t) + 41);
    const GemmFn ref = pick_gemm(scalar_gemm_kernels(), t);
    int checked = 0;
    for (const auto& [name, k] : gemm_levels()) {
        const GemmFn g = pick_gemm(*k, t);
        if (!g) continue;
        for (auto [nr, nt] : std::vector<std::pair<int64_t, int64_t>>{{150, 16}, {37, 9}, {70, 5}}) {
            const auto w = make_matrix(t, nr, n, Fill::Random, rng);
            const Acts a = make_acts(t, nt, n, false, rng);
            const size_t rb = dtype_row_bytes(t, n);
            std::vector<float> want(static_cast<size_t>(nr * nt)), got(want.size(), -1.f);
            ref(w.data(), rb, a.q.data(), a.row, n, want.data(), static_cast<size_t>(nr), nr, nt);
            g(w.data(), rb, a.q.data(), a.row, n, got.data(), static_cast<size_t>(nr), nr, nt);
            for (int64_t tt = 0; tt < nt; ++tt)
                for (int64_t r = 0; r < nr; ++r)
                    EXPECT_NEAR(got[static_cast<size_t>(tt * nr + r)], want[static_cast<size_t>(tt * nr + r)],
                                bound(t, w.data() + r * rb, a.f.data() + tt * n, n))
                        << dtype_name(t) << " " << name << " nr=" << nr << " nt=" << nt << " r=" << r << " t=" << tt;
            ++checked;
        }
    }
    if (checked == 0) GTEST_SKIP() << "no SIMD tile kernel for " << dtype_name(t) << " on this CPU";
}

INSTANTIATE_TEST_SUITE_P(TiledTypes, GemmTile, ::testing::ValuesIn(kTiled),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// matmul() on shapes that are not tile multiples, 1 and 2 threads, against vec_dot per pair.
class MatmulShapes : public ::testing::TestWithParam<DType> {};

TEST_P(MatmulShapes, MatchesPerRowVecDot) {
    const DType t = GetParam();
    const int64_t be = dtype_info(t).block_elems;
    std::mt19937 rng(static_cast<unsigned>(t) * 17 + 3);
    for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        for (int64_t rows : {1, 5, 37, 130}) {
            for (int64_t tokens : {1, 2, 3, 4, 6, 16, 17, 67}) {
                const int64_t n = (be == 256 ? 2 : 5) * be;
                const auto wm = make_matrix(t, rows, n, Fill::Random, rng);
                const Acts a = make_acts(t, tokens, n, false, rng);
                const backend::cpu::Weight w = backend::cpu::Weight::over(t, rows, n, wm.data());
                std::vector<float> y(static_cast<size_t>(rows * tokens));
                backend::cpu::matmul(pool, w, a.f.data(), tokens, y.data());
                for (int64_t tt = 0; tt < tokens; ++tt)
                    for (int64_t r = 0; r < rows; ++r) {
                        const float want = vec_dot(t, wm.data() + r * w.row_bytes, a.q.data() + tt * a.row, n);
                        EXPECT_NEAR(y[static_cast<size_t>(tt * rows + r)], want, bound(t, wm.data() + r * w.row_bytes, a.f.data() + tt * n, n))
                            << dtype_name(t) << " rows=" << rows << " tokens=" << tokens << " threads=" << threads;
                    }
            }
        }
    }
}

// A batch of decode rows and prompt rows (as the scheduler mixes them): every row equals the
// same row computed alone in a call of its own kind, bit for bit, at 1 and 2 threads, since
// matmul picks the kernel by row kind and each kernel's sums do not depend on the call.
TEST_P(MatmulShapes, MixedRowsEqualTheirKindAlone) {
    const DType t = GetParam();
    const int64_t be = dtype_info(t).block_elems, n = (be == 256 ? 2 : 5) * be, rows = 37, tokens = 23;
    std::mt19937 rng(static_cast<unsigned>(t) * 29 + 1);
    const auto wm = make_matrix(t, rows, n, Fill::Random, rng);
    const Acts a = make_acts(t, tokens, n, false, rng);
    const backend::cpu::Weight w = backend::cpu::Weight::over(t, rows, n, wm.data());
    const std::vector<backend::cpu::RowRange> prompt{{2, 9}, {12, 13}, {15, 23}};
    auto is_prompt = [&](int64_t tt) {
        for (const auto& r : prompt)
            if (tt >= r.begin && tt < r.end) return true;
        return false;
    };
    for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        std::vector<float> mixed(static_cast<size_t>(rows * tokens)), alone(static_cast<size_t>(rows));
        backend::cpu::matmul(pool, w, a.f.data(), tokens, mixed.data(), prompt);
        for (int64_t tt = 0; tt < tokens; ++tt) {
            // The row alone, through its kind's kernel called directly (per-row dots for types
            // without a tiled kernel).
            const bool p = is_prompt(tt);
            const GemmFn g = p ? prefill_gemm_fn(t) : gemm_fn(t);
            if (g)
                g(wm.data(), w.row_bytes, a.q.data() + tt * a.row, a.row, n, alone.data(), static_cast<size_t>(rows), rows, 1);
            else
                for (int64_t r = 0; r < rows; ++r) alone[static_cast<size_t>(r)] = vec_dot(t, wm.data() + r * w.row_bytes, a.q.data() + tt * a.row, n);
            for (int64_t r = 0; r < rows; ++r)
                ASSERT_EQ(mixed[static_cast<size_t>(tt * rows + r)], alone[static_cast<size_t>(r)])
                    << dtype_name(t) << " threads=" << threads << " token=" << tt << (p ? " (prompt)" : " (decode)") << " row=" << r;
        }
    }
}


// A batched decode of 5-16 sequences over a tall matrix: row blocks of up to 512 rows, each
// run in prefetched chunks, on 1 and 2 threads.
TEST_P(MatmulShapes, TallMatrixBatchedDecodeMatchesPerRowVecDot) {
    const DType t = GetParam();
    const int64_t be = dtype_info(t).block_elems;
    std::mt19937 rng(static_cast<unsigned>(t) * 29 + 1);
    const int64_t rows = 4100, n = (be == 256 ? 1 : 4) * be;
    const auto wm = make_matrix(t, rows, n, Fill::Random, rng);
    const backend::cpu::Weight w = backend::cpu::Weight::over(t, rows, n, wm.data());
    for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        for (int64_t tokens : {5, 16}) {
            const Acts a = make_acts(t, tokens, n, false, rng);
            std::vector<float> y(static_cast<size_t>(rows * tokens));
            backend::cpu::matmul(pool, w, a.f.data(), tokens, y.data());
            for (int64_t tt = 0; tt < tokens; ++tt)
                for (int64_t r = 0; r < rows; ++r) {
                    const float want = vec_dot(t, wm.data() + r * w.row_bytes, a.q.data() + tt * a.row, n);
                    ASSERT_NEAR(y[static_cast<size_t>(tt * rows + r)], want, bound(t, wm.data() + r * w.row_bytes, a.f.data() + tt * n, n))
                        << dtype_name(t) << " rows=" << rows << " tokens=" << tokens << " threads=" << threads << " r=" << r;
                }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Types, MatmulShapes,
                         ::testing::Values(DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::Q5_K,
                                           DType::F16, DType::F32),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace

namespace {

// The dispatched activation quantizers (AVX-512 where available) produce the scalar
// reference's bytes exactly: random rows, exact halves (rounding ties), +-amax ties, zeros.
TEST(QuantizeActivations, SimdEqualsScalarBytes) {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::uniform_int_distribution<int> small(-127, 127);
    const int64_t n = 4 * 256;
    for (int kind = 0; kind < 6; ++kind) {
        for (int rep = 0; rep < 20; ++rep) {
            std::vector<float> x(static_cast<size_t>(n));
            for (size_t i = 0; i < x.size(); ++i) {
                switch (kind) {
                    case 0: x[i] = nd(rng); break;
                    case 1: x[i] = static_cast<float>(small(rng)) + 0.5f; break;  // ties after scaling by ~1
                    case 2: x[i] = (i % 7 == 0) ? ((i & 8) ? 3.f : -3.f) : nd(rng); break;  // +-amax ties
                    case 3: x[i] = (i < 300) ? 0.f : nd(rng) * 1e-3f; break;  // zero blocks
                    case 4: x[i] = static_cast<float>(small(rng)); break;  // amax 127-ish: id == 1
                    default: x[i] = nd(rng) * 1e4f; break;
                }
            }
            if (kind == 1) x[static_cast<size_t>(rep)] = 127.0f;  // keeps the Q8_0 scale near 1
            for (DType t : {DType::Q8_0, DType::Q8_K}) {
                std::vector<uint8_t> want(dtype_row_bytes(t, n)), got(want.size());
                if (t == DType::Q8_0) quantize_row_q8_0(x.data(), want.data(), n);
                else quantize_row_q8_k(x.data(), want.data(), n);
                quantize_row(t, x.data(), got.data(), n);
                EXPECT_EQ(got, want) << dtype_name(t) << " kind " << kind << " rep " << rep << " at " << simd_level();
            }
        }
    }
}

}  // namespace
