// A/B timing of the MoE expert step, run only with HEARTH_MOE_TIMING=1 (it takes ~10 s and its
// figures mean something only on a quiet machine):
//   HEARTH_MOE_TIMING=1 build/tests/hearth_tests --gtest_filter='MoeKernelTiming.*'
// "old" is the algorithm moe_ffn replaced, written out here as it was: for every chosen expert,
// three pool-wide matmuls, a swiglu and a weighted add, with per-call vectors. "new" is moe_ffn.
// One layer of realistic shape (64 experts of 1024 -> 512, Q8_0, k = 4: 107 MB, so the chosen
// experts come from memory, as in decode), fresh random routes every step, old and new
// alternating on the same routes; the medians are printed and the outputs must agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/moe.h"
#include "backend/cpu/ops.h"
#include "core/dtype.h"
#include "core/thread_pool.h"
#include "quant/quant.h"

using namespace hearth;
using namespace hearth::backend::cpu;

namespace {

void old_moe(ThreadPool& pool, const ExpertWeights& gate, const ExpertWeights& up, const ExpertWeights& down,
             const float* x, int64_t n_tokens, const int32_t* ids, const float* weights, int64_t k, float* out) {
    const int64_t d = gate.all.cols, ff = gate.rows, E = gate.n_expert;
    std::fill(out, out + n_tokens * d, 0.0f);
    std::vector<std::vector<int64_t>> slots(static_cast<size_t>(E));
    for (int64_t s = 0; s < n_tokens * k; ++s) slots[static_cast<size_t>(ids[s])].push_back(s);
    std::vector<float> xs, g, u, y;
    for (int64_t e = 0; e < E; ++e) {
        const auto& sl = slots[static_cast<size_t>(e)];
        if (sl.empty()) continue;
        const int64_t m = static_cast<int64_t>(sl.size());
        xs.resize(m * d);
        g.resize(m * ff);
        u.resize(m * ff);
        y.resize(m * d);
        for (int64_t i = 0; i < m; ++i) std::copy(x + (sl[i] / k) * d, x + (sl[i] / k + 1) * d, xs.begin() + i * d);
        matmul(pool, gate.expert(e), xs.data(), m, g.data());
        matmul(pool, up.expert(e), xs.data(), m, u.data());
        swiglu(g.data(), u.data(), g.data(), m * ff);
        matmul(pool, down.expert(e), g.data(), m, y.data());
        for (int64_t i = 0; i < m; ++i) {
            const float w = weights[sl[i]];
            float* o = out + (sl[i] / k) * d;
            const float* yi = y.data() + i * d;
            for (int64_t c = 0; c < d; ++c) o[c] += w * yi[c];
        }
    }
}

std::vector<uint8_t> random_q8_0(int64_t rows, int64_t cols, std::mt19937& rng) {
    std::vector<uint8_t> m(dtype_row_bytes(DType::Q8_0, cols) * static_cast<size_t>(rows));
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : m) b = static_cast<uint8_t>(byte(rng));
    const size_t bb = dtype_info(DType::Q8_0).block_bytes;
    const uint16_t scale = quant::f32_to_fp16(0.002f);
    for (size_t blk = 0; blk < m.size() / bb; ++blk) std::memcpy(&m[blk * bb], &scale, 2);
    return m;
}

ExpertWeights experts(const std::vector<uint8_t>& data, int64_t E, int64_t rows, int64_t cols) {
    ExpertWeights x;
    x.all.type = DType::Q8_0;
    x.all.rows = E * rows;
    x.all.cols = cols;
    x.all.row_bytes = dtype_row_bytes(DType::Q8_0, cols);
    x.all.data = data.data();
    x.rows = rows;
    x.n_expert = E;
    return x;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

TEST(MoeKernelTiming, OldVsFused) {
    const char* on = std::getenv("HEARTH_MOE_TIMING");
    if (!on || std::string(on) != "1") GTEST_SKIP() << "set HEARTH_MOE_TIMING=1 to run";
    const int64_t E = 64, d = 1024, ff = 512, k = 4;
    std::mt19937 rng(1);
    const auto gate = random_q8_0(E * ff, d, rng), up = random_q8_0(E * ff, d, rng), down = random_q8_0(E * d, ff, rng);
    ExpertFfn f;
    f.gate = experts(gate, E, ff, d);
    f.up = experts(up, E, ff, d);
    f.down = experts(down, E, d, ff);
    const int steps = std::getenv("HEARTH_MOE_TIMING_STEPS") ? std::atoi(std::getenv("HEARTH_MOE_TIMING_STEPS")) : 300;
    for (int threads : {1, 2})
        for (int64_t n : {1, 4, 16}) {
            ThreadPool pool(threads);
            std::vector<float> x(static_cast<size_t>(n * d)), w(static_cast<size_t>(n * k), 0.25f);
            std::vector<float> a(x.size()), b(x.size());
            std::vector<int32_t> ids(static_cast<size_t>(n * k)), all(static_cast<size_t>(E));
            std::vector<uint8_t> ws(moe_workspace_bytes(f, n, k, threads) + 64);
            void* wsp = ws.data() + (64 - reinterpret_cast<uintptr_t>(ws.data()) % 64) % 64;
            std::normal_distribution<float> nd(0.f, 1.f);
            std::vector<double> t_old, t_new;
            for (int s = 0; s < steps; ++s) {
                for (auto& v : x) v = nd(rng);
                for (int64_t t = 0; t < n; ++t) {
                    for (int64_t e = 0; e < E; ++e) all[static_cast<size_t>(e)] = static_cast<int32_t>(e);
                    std::shuffle(all.begin(), all.end(), rng);
                    std::copy_n(all.begin(), k, ids.begin() + t * k);
                }
                auto time = [&](auto&& fn) {
                    const auto t0 = std::chrono::steady_clock::now();
                    fn();
                    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
                };
                auto run_old = [&] { return time([&] { old_moe(pool, f.gate, f.up, f.down, x.data(), n, ids.data(), w.data(), k, a.data()); }); };
                auto run_new = [&] { return time([&] { moe_ffn(pool, f, x.data(), n, ids.data(), w.data(), k, b.data(), wsp); }); };
                if (s % 2) {
                    t_old.push_back(run_old());
                    t_new.push_back(run_new());
                } else {
                    t_new.push_back(run_new());
                    t_old.push_back(run_old());
                }
                float scale = 0.0f;
                for (float v : a) scale = std::max(scale, std::fabs(v));
                for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 2e-3f * scale);
            }
            std::printf("[ moe timing ] threads %d, %2lld tokens: old %8.1f us, new %8.1f us (median of %d), old/new %.2fx\n",
                        threads, static_cast<long long>(n), median(t_old), median(t_new), steps, median(t_old) / median(t_new));
        }
}

}  // namespace
