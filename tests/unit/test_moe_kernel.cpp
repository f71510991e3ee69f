// The MoE expert kernel (backend/cpu/moe.cpp: fused path up to kMoeFusedMaxTokens tokens,
// by-expert path above) against a straightforward reference: every (token, chosen expert)
// pair computed on its own with single-token matmuls, then weighted and summed in order.
// Random weights in F32, Q8_0 and Q4_K; batches of 1, 3 and 17 tokens (both paths); k from 1
// to 8; expert ids repeated across tokens and, in one case, within a token; with and without
// a shared expert; on 1 and 3 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/moe.h"
#include "backend/cpu/ops.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "quant/quant.h"

using namespace hearth;
using namespace hearth::backend::cpu;

namespace {

// Random rows of type t: normal floats for F32; for block types random bytes with small
// random fp16 scales (the first two bytes of every Q8_0 block, the first four of Q4_K's).
std::vector<uint8_t> random_matrix(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
    std::vector<uint8_t> m(dtype_row_bytes(t, cols) * static_cast<size_t>(rows));
    std::normal_distribution<float> nd(0.f, 1.f);
    if (t == DType::F32) {
        for (size_t i = 0; i < m.size() / 4; ++i) {
            const float v = 0.1f * nd(rng);
            std::memcpy(&m[4 * i], &v, 4);
        }
        return m;
    }
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : m) b = static_cast<uint8_t>(byte(rng));
    const size_t bb = dtype_info(t).block_bytes;
    const int n_scales = t == DType::Q4_K ? 2 : 1;
    for (size_t blk = 0; blk < m.size() / bb; ++blk)
        for (int s = 0; s < n_scales; ++s) {
            const uint16_t h = quant::f32_to_fp16(0.01f * nd(rng));
            std::memcpy(&m[blk * bb + 2 * static_cast<size_t>(s)], &h, 2);
        }
    return m;
}

Weight as_weight(DType t, int64_t rows, int64_t cols, const std::vector<uint8_t>& data) {
    return Weight::over(t, rows, cols, data.data());
}

struct Model {
    std::vector<uint8_t> gate, up, down, gate_sh, up_sh, down_sh;
    ExpertFfn f;
};

Model make_model(DType t, int64_t E, int64_t d, int64_t ff, bool shared, std::mt19937& rng) {
    Model m;
    m.gate = random_matrix(t, E * ff, d, rng);
    m.up = random_matrix(t, E * ff, d, rng);
    m.down = random_matrix(t, E * d, ff, rng);
    auto experts = [&](const std::vector<uint8_t>& data, int64_t rows, int64_t cols) {
        ExpertWeights x;
        x.all = as_weight(t, E * rows, cols, data);
        x.rows = rows;
        x.n_expert = E;
        return x;
    };
    m.f.gate = experts(m.gate, ff, d);
    m.f.up = experts(m.up, ff, d);
    m.f.down = experts(m.down, d, ff);
    if (shared) {
        const int64_t ffs = 2 * ff;
        m.gate_sh = random_matrix(t, ffs, d, rng);
        m.up_sh = random_matrix(t, ffs, d, rng);
        m.down_sh = random_matrix(t, d, ffs, rng);
        m.f.gate_sh = as_weight(t, ffs, d, m.gate_sh);
        m.f.up_sh = as_weight(t, ffs, d, m.up_sh);
        m.f.down_sh = as_weight(t, d, ffs, m.down_sh);
    }
    return m;
}

// One token through one expert (or the shared one): down(silu(gate x) * up x).
void expert_ref(ThreadPool& one, const Weight& g, const Weight& u, const Weight& dn, const float* x, float* y) {
    std::vector<float> a(static_cast<size_t>(g.rows)), b(static_cast<size_t>(g.rows));
    matmul(one, g, x, 1, a.data());
    matmul(one, u, x, 1, b.data());
    for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
    matmul(one, dn, a.data(), 1, y);
}

std::vector<float> reference(const ExpertFfn& f, const std::vector<float>& x, int64_t n, const std::vector<int32_t>& ids,
                             const std::vector<float>& w, int64_t k) {
    ThreadPool one(1);
    const int64_t d = f.gate.all.cols;
    std::vector<float> out(static_cast<size_t>(n * d), 0.0f), y(static_cast<size_t>(d));
    for (int64_t t = 0; t < n; ++t) {
        const float* xt = x.data() + t * d;
        for (int64_t j = 0; j < k; ++j) {
            const int32_t e = ids[static_cast<size_t>(t * k + j)];
            expert_ref(one, f.gate.expert(e), f.up.expert(e), f.down.expert(e), xt, y.data());
            for (int64_t c = 0; c < d; ++c) out[static_cast<size_t>(t * d + c)] += w[static_cast<size_t>(t * k + j)] * y[c];
        }
        if (f.has_shared()) {
            expert_ref(one, f.gate_sh, f.up_sh, f.down_sh, xt, y.data());
            for (int64_t c = 0; c < d; ++c) out[static_cast<size_t>(t * d + c)] += y[c];
        }
    }
    return out;
}

// k distinct experts per token drawn from the first `pool_size` (so tokens share experts),
// or, with repeat_within, token 0 lists one expert twice.
std::vector<int32_t> random_ids(int64_t n, int64_t k, int64_t pool_size, bool repeat_within, std::mt19937& rng) {
    std::vector<int32_t> ids(static_cast<size_t>(n * k)), all(static_cast<size_t>(pool_size));
    for (int64_t e = 0; e < pool_size; ++e) all[static_cast<size_t>(e)] = static_cast<int32_t>(e);
    for (int64_t t = 0; t < n; ++t) {
        std::shuffle(all.begin(), all.end(), rng);
        std::copy_n(all.begin(), k, ids.begin() + t * k);
    }
    if (repeat_within && k > 1) ids[1] = ids[0];
    return ids;
}

struct Case {
    DType type;
    int64_t d, ff;
};

void run_case(const Case& c, int64_t n, int64_t k, bool shared, bool repeat_within, int threads, std::mt19937& rng) {
    const int64_t E = 10;
    Model m = make_model(c.type, E, c.d, c.ff, shared, rng);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(n * c.d));
    for (auto& v : x) v = nd(rng);
    // Experts drawn from fewer than E when possible, so most are chosen by several tokens.
    const std::vector<int32_t> ids = random_ids(n, k, std::max<int64_t>(k, std::min<int64_t>(E, k + 2)), repeat_within, rng);
    std::vector<float> w(static_cast<size_t>(n * k));
    std::uniform_real_distribution<float> ud(0.1f, 1.0f);
    for (auto& v : w) v = ud(rng);

    ThreadPool pool(threads);
    std::vector<uint8_t> ws_raw(moe_workspace_bytes(m.f, n, k, threads) + 64);
    void* ws = ws_raw.data() + (64 - reinterpret_cast<uintptr_t>(ws_raw.data()) % 64) % 64;
    std::vector<float> out(static_cast<size_t>(n * c.d), 12345.0f);  // moe_ffn must overwrite
    moe_ffn(pool, m.f, x.data(), n, ids.data(), w.data(), k, out.data(), ws);
    const std::vector<float> ref = reference(m.f, x, n, ids, w, k);

    float scale = 0.0f;
    for (float v : ref) scale = std::max(scale, std::fabs(v));
    ASSERT_GT(scale, 0.0f);
    // Quantized types: the hidden activations are re-quantized for down, and a float summation
    // order change can move one of them by a rounding step; an expert or weight mix-up is O(1).
    const float tol = (c.type == DType::F32 ? 1e-5f : 2e-3f) * scale;
    for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_NEAR(out[i], ref[i], tol) << dtype_info(c.type).name << " n=" << n << " k=" << k << " shared=" << shared
                                         << " threads=" << threads << " at token " << i / c.d << " col " << i % c.d;
}

TEST(MoeKernel, MatchesPerExpertReference) {
    std::mt19937 rng(7);
    // Row counts that are not multiples of the kernel's row block as well as ones that are.
    const Case cases[] = {{DType::F32, 96, 80}, {DType::Q8_0, 160, 96}, {DType::Q4_K, 256, 256}};
    for (const Case& c : cases)
        for (int64_t n : {1, 3, 17})
            for (int64_t k = 1; k <= 8; ++k)
                for (bool shared : {false, true}) {
                    run_case(c, n, k, shared, false, k % 2 ? 3 : 1, rng);
                    if (::testing::Test::HasFatalFailure()) return;
                }
}

TEST(MoeKernel, RepeatedExpertWithinToken) {
    std::mt19937 rng(11);
    for (int64_t n : {1, 3, 17})
        for (int threads : {1, 3}) {
            run_case({DType::Q8_0, 160, 96}, n, 4, true, true, threads, rng);
            if (::testing::Test::HasFatalFailure()) return;
        }
}

TEST(MoeKernel, BadExpertIdIsAnError) {
    std::mt19937 rng(3);
    Model m = make_model(DType::F32, 4, 96, 80, false, rng);
    ThreadPool pool(2);
    std::vector<float> x(96, 1.0f), out(96), w = {0.5f, 0.5f};
    std::vector<uint8_t> ws(moe_workspace_bytes(m.f, 1, 2, 2) + 64);
    void* p = ws.data() + (64 - reinterpret_cast<uintptr_t>(ws.data()) % 64) % 64;
    const std::vector<int32_t> bad = {1, 4};
    EXPECT_THROW(moe_ffn(pool, m.f, x.data(), 1, bad.data(), w.data(), 2, out.data(), p), Error);
}

}  // namespace
