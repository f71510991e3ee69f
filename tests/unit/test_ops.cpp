// Element-wise ops (backend/cpu/ops.h, vec_math.h): every SIMD row kernel against the scalar
// reference (std::exp, double-accumulated rms), and the pool overloads against the
// one-thread calls.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backend/cpu/ops.h"
#include "backend/cpu/vec_math.h"
#include "core/thread_pool.h"
#include "quant/quant.h"

using namespace hearth;
using namespace hearth::backend::cpu;

namespace {

std::vector<std::pair<const char*, const vec::RowKernels*>> simd_sets() {
    std::vector<std::pair<const char*, const vec::RowKernels*>> v;
    if (const auto* k = vec::avx2_row_kernels()) v.push_back({"avx2", k});
    if (const auto* k = vec::avx512_row_kernels()) v.push_back({"avx512", k});
    return v;
}

// Distance in units in the last place between two finite floats of the same sign.
double ulps(float a, float b) {
    if (a == b) return 0;
    const float u = std::nextafter(std::fabs(b), std::numeric_limits<float>::infinity()) - std::fabs(b);
    return std::fabs(static_cast<double>(a) - b) / u;
}

TEST(VecExp, WithinFourUlpOfStdExpOverTheNormalRange) {
    const auto sets = simd_sets();
    if (sets.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
    std::vector<float> x;
    for (float v = -87.0f; v <= 88.0f; v += 0.0037f) x.push_back(v);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> small(-1.f, 1.f);
    for (int i = 0; i < 20000; ++i) x.push_back(small(rng));
    x.push_back(0.f);
    x.push_back(-0.f);
    x.push_back(1e-30f);
    std::vector<float> y(x.size());
    for (const auto& [name, k] : sets) {
        k->exp(x.data(), y.data(), static_cast<int64_t>(x.size()));
        double worst = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            const float want = std::exp(x[i]);
            const double e = ulps(y[i], want);
            worst = std::max(worst, e);
            ASSERT_LE(e, 4.0) << name << " exp(" << x[i] << ") = " << y[i] << ", std::exp " << want;
        }
        RecordProperty(std::string(name) + "_worst_ulp", std::to_string(worst));
    }
}

TEST(VecExp, ExtremesAndNaN) {
    const auto sets = simd_sets();
    if (sets.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> x = {-inf, -1000.f, -200.f, 200.f, 1000.f, inf, std::numeric_limits<float>::quiet_NaN()};
    std::vector<float> y(x.size());
    for (const auto& [name, k] : sets) {
        k->exp(x.data(), y.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < 3; ++i) {
            EXPECT_GE(y[i], 0.f) << name;
            EXPECT_LT(y[i], 1.2e-38f) << name << " exp(" << x[i] << ")";
        }
        for (size_t i = 3; i < 6; ++i) EXPECT_GT(y[i], 2e38f) << name << " exp(" << x[i] << ")";
        EXPECT_TRUE(std::isnan(y[6])) << name;
        if (std::string(name) == "avx512") {  // scalef gives the exact limits
            EXPECT_EQ(y[0], 0.f);
            EXPECT_EQ(y[5], inf);
        }
    }
}

std::vector<float> randoms(size_t n, float scale, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

TEST(Swiglu, SimdMatchesScalarReference) {
    const auto sets = simd_sets();
    if (sets.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
    for (int64_t n : {1, 7, 8, 15, 16, 17, 37, 4864, 3 * 4864 + 5}) {
        auto g = randoms(static_cast<size_t>(n), 4.f, 11), u = randoms(static_cast<size_t>(n), 1.f, 12);
        if (n > 20) g[3] = -95.f, g[4] = 95.f, g[5] = 0.f, g[6] = -30.f;
        std::vector<float> want(static_cast<size_t>(n)), got(want);
        vec::scalar_row_kernels().swiglu(g.data(), u.data(), want.data(), n);
        for (const auto& [name, k] : sets) {
            std::fill(got.begin(), got.end(), -7.f);
            k->swiglu(g.data(), u.data(), got.data(), n);
            for (int64_t i = 0; i < n; ++i)
                EXPECT_NEAR(got[i], want[i], 1e-6f * std::fabs(want[i]) + 1e-30f)
                    << name << " n=" << n << " i=" << i << " gate=" << g[i];
        }
    }
}

TEST(RmsNorm, SimdMatchesScalarReference) {
    const auto sets = simd_sets();
    if (sets.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
    for (int64_t d : {1, 5, 15, 16, 17, 64, 128, 896, 4864}) {
        const auto x = randoms(static_cast<size_t>(d), 3.f, 21), w = randoms(static_cast<size_t>(d), 1.f, 22);
        for (bool weighted : {true, false}) {
            std::vector<float> want(static_cast<size_t>(d)), got(want);
            vec::scalar_row_kernels().rms_norm_row(x.data(), weighted ? w.data() : nullptr, want.data(), d, 1e-6f);
            for (const auto& [name, k] : sets) {
                k->rms_norm_row(x.data(), weighted ? w.data() : nullptr, got.data(), d, 1e-6f);
                for (int64_t i = 0; i < d; ++i)
                    EXPECT_NEAR(got[i], want[i], 1e-6f * std::fabs(want[i]) + 1e-30f) << name << " d=" << d << " i=" << i;
                std::vector<float> inplace = x;  // y == x, as the q/k norms call it
                k->rms_norm_row(inplace.data(), weighted ? w.data() : nullptr, inplace.data(), d, 1e-6f);
                EXPECT_EQ(inplace, got) << name << " in place, d=" << d;
            }
        }
    }
}

TEST(AddInplace, SimdIsExact) {
    const auto sets = simd_sets();
    if (sets.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
    for (int64_t n : {1, 9, 16, 33, 896}) {
        const auto a = randoms(static_cast<size_t>(n), 1.f, 31), b = randoms(static_cast<size_t>(n), 1.f, 32);
        for (const auto& [name, k] : sets) {
            std::vector<float> got = a;
            k->add(got.data(), b.data(), n);
            for (int64_t i = 0; i < n; ++i) EXPECT_EQ(got[i], a[i] + b[i]) << name << " n=" << n;
        }
    }
}

// The pool overloads split the same per-element (per-row) work, so their results equal the
// one-thread calls bit for bit, whatever the split.
TEST(PoolOps, EqualOneThreadResults) {
    ThreadPool pool(2);
    for (int64_t rows : {1, 3, 64, 301}) {
        const int64_t d = 896;
        const auto x = randoms(static_cast<size_t>(rows * d), 2.f, 41), w = randoms(static_cast<size_t>(d), 1.f, 42);
        std::vector<float> want(x.size()), got(x.size());
        rms_norm(x.data(), w.data(), want.data(), rows, d, 1e-6f);
        rms_norm(pool, x.data(), w.data(), got.data(), rows, d, 1e-6f);
        EXPECT_EQ(got, want) << "rms_norm rows=" << rows;

        const auto u = randoms(x.size(), 1.f, 43);
        swiglu(x.data(), u.data(), want.data(), rows * d);
        swiglu(pool, x.data(), u.data(), got.data(), rows * d);
        EXPECT_EQ(got, want) << "swiglu rows=" << rows;

        want = x;
        got = x;
        add_inplace(want.data(), u.data(), rows * d);
        add_inplace(pool, got.data(), u.data(), rows * d);
        EXPECT_EQ(got, want) << "add_inplace rows=" << rows;
    }
}

TEST(PoolOps, ForceScalarUsesReference) {
    quant::force_scalar(true);
    EXPECT_EQ(&vec::row_kernels(), &vec::scalar_row_kernels());
    const auto g = randoms(100, 3.f, 51), u = randoms(100, 1.f, 52);
    std::vector<float> got(100);
    ThreadPool pool(2);
    swiglu(pool, g.data(), u.data(), got.data(), 100);
    quant::force_scalar(false);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], g[i] / (1.0f + std::exp(-g[i])) * u[i]);
}

}  // namespace
