// The AVX-512 attention path (keys in chunks of 16, vector exp) against the scalar per-head
// reference (attend_one, reached with quant::force_scalar), on F16 and F32 caches, with
// key counts that leave partial chunks and score ranges that force rescaling.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/attention.h"
#include "core/thread_pool.h"
#include "quant/quant.h"

using namespace hearth;
using namespace hearth::backend::cpu;

namespace {

struct Case {
    int64_t n_head, n_head_kv, dk, dv, n_tokens, pos0;
    float q_scale;  // larger -> sharper softmax, more rescaling
};

std::vector<float> run(const Case& c, DType kv, bool scalar, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    const int64_t n_keys = c.pos0 + c.n_tokens;
    std::vector<float> q(static_cast<size_t>(c.n_tokens * c.n_head * c.dk));
    for (auto& v : q) v = c.q_scale * nd(rng);
    const size_t es = kv == DType::F16 ? 2 : 4;
    const size_t ks = static_cast<size_t>(c.n_head_kv * c.dk) * es, vs = static_cast<size_t>(c.n_head_kv * c.dv) * es;
    std::vector<uint8_t> k(ks * static_cast<size_t>(n_keys)), v(vs * static_cast<size_t>(n_keys));
    auto fill = [&](std::vector<uint8_t>& buf) {
        for (size_t i = 0; i < buf.size() / es; ++i) {
            const float x = nd(rng);
            if (es == 2) {
                const uint16_t h = quant::f32_to_fp16(x);
                std::memcpy(&buf[2 * i], &h, 2);
            } else {
                std::memcpy(&buf[4 * i], &x, 4);
            }
        }
    };
    fill(k);
    fill(v);
    std::vector<float> out(static_cast<size_t>(c.n_tokens * c.n_head * c.dv), -1.f);
    AttentionArgs a;
    a.q = q.data();
    a.n_tokens = c.n_tokens;
    a.pos0 = c.pos0;
    a.n_head = c.n_head;
    a.n_head_kv = c.n_head_kv;
    a.head_dim_k = c.dk;
    a.head_dim_v = c.dv;
    a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
    a.kv_type = kv;
    a.k = k.data();
    a.v = v.data();
    a.k_stride = ks;
    a.v_stride = vs;
    a.out = out.data();
    ThreadPool pool(2);
    quant::force_scalar(scalar);
    attention(pool, a);
    quant::force_scalar(false);
    return out;
}

TEST(Attention, FastPathMatchesScalarReference) {
    if (std::strcmp(quant::simd_level(), "avx512") != 0) GTEST_SKIP() << "no AVX-512 attention path on this CPU";
    const Case cases[] = {
        {14, 2, 64, 64, 37, 0, 1.f},   // the default model's heads; 1..37 keys
        {14, 2, 64, 64, 5, 29, 6.f},   // decode-like rows after a prefix, sharp scores
        {4, 4, 128, 128, 20, 11, 3.f}, // no grouping, wider heads
        {8, 1, 192, 128, 3, 40, 1.f},  // MLA-like: k wider than v
    };
    for (const Case& c : cases)
        for (DType kv : {DType::F16, DType::F32}) {
            const auto want = run(c, kv, true, 7), got = run(c, kv, false, 7);
            ASSERT_EQ(got.size(), want.size());
            for (size_t i = 0; i < got.size(); ++i)
                ASSERT_NEAR(got[i], want[i], 2e-5f + 2e-5f * std::fabs(want[i]))
                    << dtype_name(kv) << " heads " << c.n_head << "/" << c.n_head_kv << " dk " << c.dk << " tokens "
                    << c.n_tokens << " pos0 " << c.pos0 << " at " << i;
        }
}

}  // namespace
