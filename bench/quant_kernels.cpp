// Micro-benchmark of the decode hot loop (and of the tiled kernels: "tile" columns run the
// same matrix through gemm_fn with 1 token (decode) and with 64 tokens, "prefill nt64" through
// prefill_gemm_fn, the prompt rows' kernel (reported
// as GB/s of weight bytes times tokens, i.e. the rate a per-token vec_dot would need): y = W x for a 896 x 4864 weight matrix (the
// shape of the default model's ffn_down: 896 rows of 4864 elements) on one thread, for each
// weight type, at the detected SIMD level and at the scalar reference. Reports GB/s of
// weight bytes read. Not built by default:
//   g++ -std=c++20 -O3 -Isrc bench/quant_kernels.cpp src/quant/*.cpp src/core/dtype.cpp src/core/error.cpp -o /tmp/qbench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "quant/kernels.h"
#include "quant/quant.h"

using hearth::DType;
namespace q = hearth::quant;

namespace {

constexpr int64_t kRows = 896, kCols = 4864;

// Random quant bytes with every fp16 field replaced by a small finite scale: rows built by
// quantizing floats would be slower to make and the kernels' speed does not depend on values.
std::vector<uint8_t> make_matrix(DType t, std::mt19937& rng) {
    const size_t row_bytes = hearth::dtype_row_bytes(t, kCols);
    std::vector<uint8_t> m(row_bytes * kRows);
    if (t == DType::F32 || t == DType::F16 || t == DType::BF16) {
        std::normal_distribution<float> nd(0.f, 1.f);
        std::vector<float> row(kCols);
        for (int64_t r = 0; r < kRows; ++r) {
            for (auto& v : row) v = nd(rng);
            if (t == DType::F32) std::memcpy(&m[r * row_bytes], row.data(), row_bytes);
            for (int64_t i = 0; t != DType::F32 && i < kCols; ++i) {
                const uint16_t h = t == DType::F16 ? q::f32_to_fp16(row[i]) : q::f32_to_bf16(row[i]);
                std::memcpy(&m[r * row_bytes + 2 * i], &h, 2);
            }
        }
        return m;
    }
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : m) b = static_cast<uint8_t>(byte(rng));
    std::vector<float> deq(kCols);
    q::dequantize_row(t, m.data(), deq.data(), kCols);  // warms up the dispatch, checks the type
    // fp16 fields may hold NaN/inf bit patterns; harmless for timing.
    return m;
}

// Best of many repetitions: the machine may be shared, and the minimum is the stable figure.
double bench(q::VecDotFn f, DType t, const std::vector<uint8_t>& w, const std::vector<uint8_t>& act, float* y) {
    const size_t row_bytes = hearth::dtype_row_bytes(t, kCols);
    double best = 1e30;
    for (int rep = 0; rep < 40; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t r = 0; r < kRows; ++r) y[r] = f(w.data() + r * row_bytes, act.data(), kCols);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, s);
    }
    return best;
}

double bench_gemm(q::GemmFn g, DType t, const std::vector<uint8_t>& w, const std::vector<uint8_t>& act, size_t act_row,
                  int64_t nt, float* y) {
    const size_t row_bytes = hearth::dtype_row_bytes(t, kCols);
    double best = 1e30;
    for (int rep = 0; rep < (nt == 1 ? 40 : 4); ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t r = 0; r < kRows; r += 16) g(w.data() + r * row_bytes, row_bytes, act.data(), act_row, kCols, y + r, kRows, 16, nt);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, s);
    }
    return best;
}

}  // namespace

int main() {
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> x(kCols), y(kRows);
    for (auto& v : x) v = nd(rng);
    std::printf("matrix %lld x %lld, 1 thread, detected SIMD level %s; GB/s of weight bytes\n",
                static_cast<long long>(kRows), static_cast<long long>(kCols), q::simd_level());
    const bool has512 = std::string(q::simd_level()) == "avx512";
    std::printf("%-6s %7s %9s %9s %9s %11s %9s %9s\n", "type", "MB", "scalar", "avx2", "avx512", "best us/mat", "tile nt1", "tile nt64");
    std::vector<float> yy(kRows * 64);
    for (DType t : {DType::Q5_0, DType::Q8_0, DType::Q6_K, DType::Q4_K, DType::Q4_0, DType::F16, DType::F32,
                    DType::Q5_K, DType::BF16, DType::Q4_1, DType::Q5_1, DType::Q2_K, DType::Q3_K}) {
        const auto w = make_matrix(t, rng);
        const DType at = q::vec_dot_type(t);
        std::vector<uint8_t> act(hearth::dtype_row_bytes(at, kCols));
        q::quantize_row(at, x.data(), act.data(), kCols);
        const double mb = static_cast<double>(w.size()) / 1e6;
        const double sc = bench(q::pick(q::scalar_kernels(), t), t, w, act, y.data());
        const double a2 = bench(q::pick(q::avx2_kernels(), t), t, w, act, y.data());
        const double a5 = has512 ? bench(q::pick(q::avx512_kernels(), t), t, w, act, y.data()) : a2;
        std::printf("%-6s %7.2f %9.2f %9.2f %9.2f %11.1f\n", std::string(hearth::dtype_name(t)).c_str(), mb,
                    mb / 1e3 / sc, mb / 1e3 / a2, has512 ? mb / 1e3 / a5 : 0.0, std::min(a2, a5) * 1e6);
        if (q::GemmFn g = q::gemm_fn(t)) {
            const size_t ar = hearth::dtype_row_bytes(at, kCols);
            std::vector<uint8_t> act64(ar * 64);
            for (int k = 0; k < 64; ++k) std::memcpy(act64.data() + k * ar, act.data(), ar);
            const double g1 = bench_gemm(g, t, w, act64, ar, 1, yy.data());
            const double g64 = bench_gemm(g, t, w, act64, ar, 64, yy.data());
            // The prompt rows' kernel (panels for the 32-element formats at AVX-512).
            const double p64 = bench_gemm(q::prefill_gemm_fn(t), t, w, act64, ar, 64, yy.data());
            // Out of cache: 40 copies of the matrix (> L3), each read once per pass.
            std::vector<uint8_t> big(w.size() * 40);
            for (int k = 0; k < 40; ++k) std::memcpy(big.data() + k * w.size(), w.data(), w.size());
            double bestd = 1e30;
            for (int rep = 0; rep < 3; ++rep) {
                const auto t0 = std::chrono::steady_clock::now();
                for (int k = 0; k < 40; ++k)
                    for (int64_t r = 0; r < kRows; r += 16)
                        g(big.data() + k * w.size() + r * (w.size() / kRows), w.size() / kRows, act64.data(), ar, kCols, yy.data() + r, kRows, 16, 1);
                bestd = std::min(bestd, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            double bestv = 1e30;
            const q::VecDotFn vf = q::vec_dot_fn(t);
            for (int rep = 0; rep < 3; ++rep) {
                const auto t0 = std::chrono::steady_clock::now();
                for (int k = 0; k < 40; ++k)
                    for (int64_t r = 0; r < kRows; ++r)
                        yy[r] = vf(big.data() + k * w.size() + r * (w.size() / kRows), act64.data(), kCols);
                bestv = std::min(bestv, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            std::printf("%-6s %7s %9s %9s %9s %11s %9.2f %9.2f  prefill nt64 %.2f  DRAM nt1 %.2f vec_dot %.2f\n", "", "", "", "",
                        "", "", mb / 1e3 / g1, 64 * mb / 1e3 / g64, 64 * mb / 1e3 / p64, 40 * mb / 1e3 / bestd,
                        40 * mb / 1e3 / bestv);
        }
    }
}
