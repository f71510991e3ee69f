// Weight quantizers: byte-exact against the `gguf` Python package where it has a quantizer
// (fixtures from tools/gen_quantize_goldens.py), round-trip error bounds for every type on
// random and edge-case rows, the K-quant search against the naive max-abs/min-max baseline,
// and clear errors for inputs that cannot be stored.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "quant/quant.h"
#include "quant/quantize_weights.h"

namespace hearth::quant {
namespace {

std::vector<uint8_t> read_fixture(const std::string& name) {
    const std::string path = std::string(HEARTH_FIXTURES) + "/quant/weights/" + name;
    std::ifstream f(path, std::ios::binary);
    if (!f) ADD_FAILURE() << "missing fixture " << path << " (run tools/gen_quantize_goldens.py)";
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string name_of(DType t) { return std::string(dtype_name(t)); }

std::vector<uint8_t> quantize(DType t, const std::vector<float>& x, bool naive = false) {
    std::vector<uint8_t> q(dtype_row_bytes(t, static_cast<int64_t>(x.size())));
    if (naive) quantize_weight_row_naive(t, x.data(), q.data(), static_cast<int64_t>(x.size()));
    else quantize_weight_row(t, x.data(), q.data(), static_cast<int64_t>(x.size()));
    return q;
}

std::vector<float> round_trip(DType t, const std::vector<float>& x, bool naive = false) {
    const auto q = quantize(t, x, naive);
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), static_cast<int64_t>(x.size()));
    return y;
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    return std::sqrt(s / static_cast<double>(a.size()));
}

std::vector<float> gaussian(size_t n, float sd, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, sd);
    std::vector<float> x(n);
    for (auto& v : x) v = nd(rng);
    return x;
}

// Student-t with 3 degrees of freedom: the heavy tails real weight matrices have.
std::vector<float> heavy_tailed(size_t n, float sd, uint32_t seed) {
    std::mt19937 rng(seed);
    std::student_t_distribution<float> td(3.f);
    std::vector<float> x(n);
    for (auto& v : x) v = sd * td(rng);
    return x;
}

const DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                           DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// RMSE / standard deviation of Gaussian weights, each about 1.5x what the type achieves
// (measured: F16 2.1e-4, BF16 1.7e-3, Q8_0 5.4e-3, Q6_K 0.0174, Q5_K 0.0356, Q5_1 0.038,
// Q5_0 0.043, Q4_K 0.071, Q4_1 0.078, Q4_0 0.086), so a
// layout or rounding bug (which costs far more) fails while honest changes pass.
double gaussian_bound(DType t) {
    switch (t) {
        case DType::F32: return 0;
        case DType::F16: return 4e-4;
        case DType::BF16: return 3e-3;
        case DType::Q8_0: return 0.0075;
        case DType::Q6_K: return 0.026;
        case DType::Q5_0: return 0.065;
        case DType::Q5_1: return 0.057;
        case DType::Q5_K: return 0.053;
        case DType::Q4_0: return 0.13;
        case DType::Q4_1: return 0.12;
        case DType::Q4_K: return 0.105;
        default: return 0;
    }
}

// ------------------------------------------------------------------ reference bytes

TEST(QuantizeWeights, LegacyTypesMatchGgufPackageBytes) {
    const auto raw = read_fixture("input.f32");
    ASSERT_FALSE(raw.empty());
    std::vector<float> x(raw.size() / 4);
    std::memcpy(x.data(), raw.data(), x.size() * 4);
    for (DType t : {DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0}) {
        const auto expected = read_fixture(name_of(t) + ".expected");
        const auto got = quantize(t, x);
        ASSERT_EQ(got.size(), expected.size()) << name_of(t);
        int bad = 0;
        for (size_t i = 0; i < got.size() && bad < 5; ++i) {
            if (got[i] != expected[i]) {
                ++bad;
                ADD_FAILURE() << name_of(t) << " byte " << i << " (block " << i / dtype_info(t).block_bytes
                              << "): got " << int(got[i]) << " expected " << int(expected[i]);
            }
        }
    }
}

// ------------------------------------------------------------------ error bounds

class QuantizeWeightsType : public ::testing::TestWithParam<DType> {};

TEST_P(QuantizeWeightsType, GaussianRowsWithinBound) {
    const DType t = GetParam();
    for (uint32_t seed : {1u, 2u, 3u}) {
        const auto x = gaussian(4096, 0.02f, seed);
        const auto y = round_trip(t, x);
        EXPECT_LE(rmse(x, y) / 0.02, gaussian_bound(t)) << name_of(t) << " seed " << seed;
    }
}

TEST_P(QuantizeWeightsType, ZerosStayExactlyZero) {
    const DType t = GetParam();
    const std::vector<float> x(512, 0.0f);
    for (float v : round_trip(t, x)) ASSERT_EQ(v, 0.0f) << name_of(t);
}

TEST_P(QuantizeWeightsType, ConstantRowsKeepTheirValue) {
    const DType t = GetParam();
    // Values large enough that every fp16 scale is a normal number (small ones: TinyValues).
    for (float c : {0.75f, -1.25f, 0.5f}) {
        const std::vector<float> x(512, c);
        for (float v : round_trip(t, x)) {
            // One fp16 rounding of the scale (or of the value itself) is all the error allowed.
            ASSERT_NEAR(v, c, std::fabs(c) * 2e-3f) << name_of(t) << " constant " << c;
        }
    }
}

TEST_P(QuantizeWeightsType, HugeOutlierKeptAndRowFinite) {
    const DType t = GetParam();
    auto x = gaussian(512, 1.0f, 9);
    x[100] = 1000.0f;
    x[300] = -700.0f;
    const auto y = round_trip(t, x);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << name_of(t);
    // The outliers dominate their blocks' scales, so they come back to a few percent at worst.
    EXPECT_NEAR(y[100], 1000.0f, 1000.0f * 0.04f) << name_of(t);
    EXPECT_NEAR(y[300], -700.0f, 700.0f * 0.06f) << name_of(t);
}

TEST_P(QuantizeWeightsType, TinyValuesFiniteAndSmallError) {
    // At this size the fp16 block scales are subnormal (below 6.1e-5): precision drops, but
    // nothing may flush to garbage.
    const DType t = GetParam();
    const auto x = gaussian(512, 1e-4f, 5);
    const auto y = round_trip(t, x);
    double amax = 0;
    for (float v : x) amax = std::max(amax, static_cast<double>(std::fabs(v)));
    for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_TRUE(std::isfinite(y[i])) << name_of(t);
        ASSERT_LE(std::fabs(y[i] - x[i]), amax * 0.15) << name_of(t) << " element " << i;
    }
    EXPECT_LE(rmse(x, y) / 1e-4, 2 * gaussian_bound(t) + 1e-3) << name_of(t);
}

TEST_P(QuantizeWeightsType, NonFiniteInputIsAClearError) {
    const DType t = GetParam();
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
        auto x = gaussian(256, 1.0f, 3);
        x[77] = bad;
        std::vector<uint8_t> q(dtype_row_bytes(t, 256));
        try {
            quantize_weight_row(t, x.data(), q.data(), 256);
            ADD_FAILURE() << name_of(t) << " accepted " << bad;
        } catch (const Error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("element 77"), std::string::npos) << msg;
            EXPECT_NE(msg.find(std::isnan(bad) ? "NaN" : "infinite"), std::string::npos) << msg;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantizeWeightsType, ::testing::ValuesIn(kAllTypes),
                         [](const auto& p) { return name_of(p.param); });

// ------------------------------------------------------------------ the K-quant search

TEST(QuantizeWeights, KQuantSearchBeatsNaiveScales) {
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        for (int dist = 0; dist < 2; ++dist) {
            const auto x = dist == 0 ? gaussian(256 * 64, 0.02f, 11) : heavy_tailed(256 * 64, 0.02f, 12);
            const double e_search = rmse(x, round_trip(t, x));
            const double e_naive = rmse(x, round_trip(t, x, true));
            // Measured on these rows: Q4_K/Q5_K 7-10% lower, Q6_K 3-8% lower.
            std::printf("[ rmse ] %-4s %-12s search %.6f naive %.6f (%.1f%% lower)\n", name_of(t).c_str(),
                        dist ? "heavy-tailed" : "gaussian", e_search, e_naive, 100.0 * (1 - e_search / e_naive));
            const double need = t == DType::Q6_K ? 0.99 : 0.96;
            EXPECT_LT(e_search, need * e_naive)
                << name_of(t) << (dist ? " heavy-tailed" : " gaussian") << ": search " << e_search << " naive " << e_naive;
        }
    }
}

TEST(QuantizeWeights, ValuesTooLargeForFp16ScalesAreRejected) {
    std::vector<float> x(256, 1.0f);
    x[3] = 1e9f;  // Q8_0's scale would be 1e9/127, beyond fp16
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K}) {
        std::vector<uint8_t> q(dtype_row_bytes(t, 256));
        EXPECT_THROW(quantize_weight_row(t, x.data(), q.data(), 256), Error) << name_of(t);
    }
    x[3] = 70000.0f;  // beyond F16, fine for BF16
    std::vector<uint8_t> q(512);
    EXPECT_THROW(quantize_weight_row(DType::F16, x.data(), q.data(), 256), Error);
    EXPECT_NO_THROW(quantize_weight_row(DType::BF16, x.data(), q.data(), 256));
}

TEST(QuantizeWeights, BadRowLengthsAndTypesAreErrors) {
    std::vector<float> x(300, 0.5f);
    std::vector<uint8_t> q(4096);
    EXPECT_THROW(quantize_weight_row(DType::Q4_K, x.data(), q.data(), 288), Error);  // not whole 256-blocks
    EXPECT_THROW(quantize_weight_row(DType::Q8_0, x.data(), q.data(), 40), Error);
    EXPECT_THROW(quantize_weight_row(DType::Q2_K, x.data(), q.data(), 256), Error);
    EXPECT_THROW(quantize_weight_row(DType::IQ4_NL, x.data(), q.data(), 256), Error);
    EXPECT_FALSE(weight_quant_supported(DType::Q8_K));
}

}  // namespace
}  // namespace hearth::quant
