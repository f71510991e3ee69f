// Quantized formats: dequantization and quantization against the Python `gguf` package
// (fixtures from tools/gen_quant_fixtures.py), every SIMD dot product against the scalar
// reference, and the dots against float math within the activation rounding bound.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/quant.h"

namespace hearth::quant {
namespace {

std::vector<uint8_t> read_file(const std::string& name) {
    const std::string path = std::string(HEARTH_FIXTURES) + "/quant/" + name;
    std::ifstream f(path, std::ios::binary);
    if (!f) ADD_FAILURE() << "missing fixture " << path << " (run tools/gen_quant_fixtures.py)";
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<float> as_floats(const std::vector<uint8_t>& b) {
    std::vector<float> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), v.size() * 4);
    return v;
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

const DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                              DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                              DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::string type_name(DType t) { return std::string(dtype_name(t)); }

// ------------------------------------------------------------------ dequantization

class DequantFixture : public ::testing::TestWithParam<DType> {};

TEST_P(DequantFixture, MatchesGgufPackageBitForBit) {
    const DType t = GetParam();
    const auto blocks = read_file(type_name(t) + ".blocks");
    const auto expected = as_floats(read_file(type_name(t) + ".expected"));
    const DTypeInfo& info = dtype_info(t);
    ASSERT_FALSE(blocks.empty());
    ASSERT_EQ(blocks.size() % info.block_bytes, 0u);
    const int64_t n = static_cast<int64_t>(blocks.size() / info.block_bytes * info.block_elems);
    ASSERT_EQ(static_cast<size_t>(n), expected.size());
    std::vector<float> got(static_cast<size_t>(n));
    dequantize_row(t, blocks.data(), got.data(), n);
    // Both sides do the same float32 operations in the same order, so the results must be
    // identical; comparing bits also checks signed zeros and NaN payloads.
    int mismatches = 0;
    for (int64_t i = 0; i < n && mismatches < 5; ++i) {
        if (bits(got[i]) != bits(expected[i])) {
            ++mismatches;
            ADD_FAILURE() << type_name(t) << " element " << i << " (block " << i / info.block_elems << "): got "
                          << got[i] << " expected " << expected[i];
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DequantFixture, ::testing::ValuesIn(kWeightTypes),
                         [](const auto& p) { return type_name(p.param); });

// ------------------------------------------------------------------ quantization

TEST(Quantize, Q8_0AndQ4_0MatchGgufPackageBytes) {
    for (DType t : {DType::Q8_0, DType::Q4_0}) {
        const auto x = as_floats(read_file("quantize_" + type_name(t) + ".input"));
        const auto expected = read_file("quantize_" + type_name(t) + ".expected");
        ASSERT_TRUE(quantize_row_supported(t));
        std::vector<uint8_t> got(dtype_row_bytes(t, static_cast<int64_t>(x.size())));
        ASSERT_EQ(got.size(), expected.size());
        quantize_row(t, x.data(), got.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < got.size(); ++i)
            ASSERT_EQ(got[i], expected[i]) << type_name(t) << " byte " << i << " (block " << i / dtype_info(t).block_bytes << ")";
    }
}

TEST(Quantize, Q8_KBlockInvariants) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.f, 3.f);
    std::vector<float> x(3 * kQK_K);
    for (auto& v : x) v = nd(rng);
    for (int j = 0; j < kQK_K; ++j) x[kQK_K + j] = 0;  // a zero block
    std::vector<BlockQ8_K> q(3);
    quantize_row(DType::Q8_K, x.data(), q.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(q[1].d, 0.f);
    for (int b = 0; b < 3; ++b) {
        float amax = 0;
        for (int j = 0; j < kQK_K; ++j) amax = std::max(amax, std::fabs(x[b * kQK_K + j]));
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int k = 0; k < 16; ++k) s += q[b].qs[16 * g + k];
            EXPECT_EQ(q[b].bsums[g], s);
        }
        for (int j = 0; j < kQK_K; ++j) {
            EXPECT_GE(q[b].qs[j], -127);
            EXPECT_NEAR(q[b].d * q[b].qs[j], x[b * kQK_K + j], std::fabs(q[b].d) * 0.5001f);
        }
        EXPECT_NEAR(std::fabs(q[b].d) * 127, amax, amax * 1e-6f);
    }
}

TEST(Fp16, RoundTripsEveryHalfAndRoundsToNearestEven) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16_to_f32(static_cast<uint16_t>(h));
        if (std::isnan(f)) continue;
        ASSERT_EQ(f32_to_fp16(f), h) << "half bits " << h;
    }
    EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f), 0x3C00);         // tie -> even (down)
    EXPECT_EQ(f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);     // tie -> even (up)
    EXPECT_EQ(f32_to_fp16(65520.0f), 0x7C00);                // rounds to inf
    EXPECT_EQ(f32_to_fp16(65519.0f), 0x7BFF);
    EXPECT_EQ(f32_to_fp16(0x1p-25f), 0x0000);                // tie between 0 and the smallest subnormal
    EXPECT_EQ(f32_to_fp16(0x1.8p-25f), 0x0001);
    EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
    EXPECT_TRUE(std::isnan(fp16_to_f32(f32_to_fp16(std::nanf("")))));
    EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3F80);          // tie -> even
    EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);
    EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
}

// ------------------------------------------------------------------ errors

TEST(QuantErrors, UnsupportedTypesThrow) {
    std::vector<uint8_t> buf(4096);
    std::vector<float> out(256);
    EXPECT_THROW(dequantize_row(DType::IQ2_XXS, buf.data(), out.data(), 256), Error);
    EXPECT_THROW(dequantize_row(DType::Q4_0, buf.data(), out.data(), 33), Error);  // not whole blocks
    EXPECT_THROW(vec_dot_type(DType::IQ4_NL), Error);
    EXPECT_THROW(vec_dot(DType::TQ1_0, buf.data(), buf.data(), 256), Error);
    EXPECT_THROW(quantize_row(DType::Q4_K, out.data(), buf.data(), 256), Error);
    EXPECT_THROW(quantize_row(DType::Q8_0, out.data(), buf.data(), 48), Error);
    EXPECT_FALSE(quantize_row_supported(DType::Q6_K));
    try {
        dequantize_row(DType::IQ3_S, buf.data(), out.data(), 256);
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("IQ3_S"), std::string::npos) << e.what();
    }
}

// ------------------------------------------------------------------ dot products

// Byte offsets of fp16 fields per block: scales ("d") and minimums ("m") that random
// blocks must keep finite. Minimums are listed so a block can be split into its scale
// part and its minimum part for the error bound.
struct Fp16Fields {
    std::vector<int> d, m;
};

Fp16Fields fp16_fields(DType t) {
    switch (t) {
        case DType::Q4_0: case DType::Q5_0: case DType::Q8_0: return {{0}, {}};
        case DType::Q4_1: case DType::Q5_1: return {{0}, {2}};
        case DType::Q2_K: return {{80}, {82}};
        case DType::Q3_K: return {{108}, {}};
        case DType::Q4_K: case DType::Q5_K: return {{0}, {2}};
        case DType::Q6_K: return {{208}, {}};
        default: return {};
    }
}

void set_fp16(std::vector<uint8_t>& b, size_t off, float v) {
    const uint16_t h = f32_to_fp16(v);
    std::memcpy(&b[off], &h, 2);
}

enum class Fill { Random, AllMax, ZeroScales, NegativeScales };

// n elements of weight type t.
std::vector<uint8_t> make_weights(DType t, int64_t n, Fill fill, std::mt19937& rng) {
    const DTypeInfo& info = dtype_info(t);
    const size_t nb = static_cast<size_t>(n / info.block_elems);
    std::vector<uint8_t> b(nb * info.block_bytes);
    std::normal_distribution<float> nd(0.f, 1.f);
    if (t == DType::F32 || t == DType::F16 || t == DType::BF16) {
        for (int64_t i = 0; i < n; ++i) {
            const float v = fill == Fill::ZeroScales ? 0.f : (fill == Fill::AllMax ? 60000.f : nd(rng));
            if (t == DType::F32) std::memcpy(&b[4 * i], &v, 4);
            const uint16_t h = t == DType::F16 ? f32_to_fp16(v) : f32_to_bf16(v);
            if (t != DType::F32) std::memcpy(&b[2 * i], &h, 2);
        }
        return b;
    }
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& v : b) v = fill == Fill::AllMax ? 0xFF : static_cast<uint8_t>(byte(rng));
    if (t == DType::Q8_0 && fill == Fill::AllMax)
        for (size_t i = 0; i < nb; ++i) std::memset(&b[i * info.block_bytes + 2], 0x7F, 32);  // +127
    const Fp16Fields f = fp16_fields(t);
    for (size_t i = 0; i < nb; ++i) {
        for (int off : f.d) {
            float v = 0.05f * nd(rng);
            if (fill == Fill::ZeroScales) v = 0;
            if (fill == Fill::NegativeScales || fill == Fill::AllMax) v = -std::fabs(v) - 0.01f;
            set_fp16(b, i * info.block_bytes + static_cast<size_t>(off), v);
        }
        for (int off : f.m) {
            float v = 0.05f * nd(rng);
            if (fill == Fill::ZeroScales) v = 0;
            if (fill == Fill::NegativeScales) v = -std::fabs(v) - 0.01f;
            set_fp16(b, i * info.block_bytes + static_cast<size_t>(off), v);
        }
    }
    return b;
}

// Zeroes the scale fields (keep="m") or minimum fields (keep="d") of every block.
std::vector<uint8_t> only_part(DType t, std::vector<uint8_t> b, bool keep_scale) {
    const Fp16Fields f = fp16_fields(t);
    const size_t bb = dtype_info(t).block_bytes;
    for (size_t i = 0; i < b.size() / bb; ++i)
        for (int off : keep_scale ? f.m : f.d) set_fp16(b, i * bb + static_cast<size_t>(off), 0.f);
    return b;
}

std::vector<float> dequant(DType t, const void* p, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_row(t, p, y.data(), n);
    return y;
}

// 1e-5 of the sum of |terms|. Formats with a minimum are split into scale and minimum parts
// first, since the kernels add those separately and cancellation between them must not
// shrink the bound below the rounding error of either part.
double term_bound(DType t, const std::vector<uint8_t>& w, const std::vector<float>& act, int64_t n) {
    std::vector<std::vector<float>> parts;
    if (fp16_fields(t).m.empty()) {
        parts.push_back(dequant(t, w.data(), n));
    } else {
        parts.push_back(dequant(t, only_part(t, w, true).data(), n));
        parts.push_back(dequant(t, only_part(t, w, false).data(), n));
    }
    double s = 0;
    for (const auto& p : parts)
        for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(p[i]) * act[i]);
    return 1e-5 * s;
}

struct Level {
    const char* name;
    const DotKernels* k;
};

std::vector<Level> simd_levels() {
    std::vector<Level> v;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        v.push_back({"avx2", &avx2_kernels()});
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vnni"))
        v.push_back({"avx512", &avx512_kernels()});
#endif
    return v;
}

// Activations for type w: quantized random floats (or an edge pattern), plus their
// dequantized values for the bound.
struct Act {
    std::vector<uint8_t> q;
    std::vector<float> deq;
};

Act make_act(DType w, int64_t n, bool extreme, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[i] = extreme ? ((i & 1) ? 1.f : -1.f) : nd(rng);
    const DType at = vec_dot_type(w);
    Act a;
    a.q.resize(dtype_row_bytes(at, n));
    quantize_row(at, x.data(), a.q.data(), n);
    a.deq.resize(static_cast<size_t>(n));
    if (at == DType::Q8_K) {
        const auto* b = reinterpret_cast<const BlockQ8_K*>(a.q.data());
        for (int64_t i = 0; i < n; ++i) a.deq[i] = b[i / kQK_K].d * b[i / kQK_K].qs[i % kQK_K];
    } else {
        a.deq = dequant(at, a.q.data(), n);
    }
    return a;
}

class DotSimd : public ::testing::TestWithParam<DType> {};

TEST_P(DotSimd, EveryLevelMatchesScalarReference) {
    const DType t = GetParam();
    const auto levels = simd_levels();
    if (levels.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
    const int64_t be = dtype_info(t).block_elems;
    const int64_t bs = be == 1 ? 32 : be;
    std::mt19937 rng(static_cast<unsigned>(t) * 977 + 1);
    const VecDotFn ref = pick(scalar_kernels(), t);
    ASSERT_NE(ref, nullptr);
    int cases = 0;
    for (int64_t blocks : {1, 2, 3, 7, 28, 152}) {
        const int64_t n = blocks * bs;
        for (Fill fill : {Fill::Random, Fill::AllMax, Fill::ZeroScales, Fill::NegativeScales}) {
            for (bool extreme : {false, true}) {
                const auto w = make_weights(t, n, fill, rng);
                const Act a = make_act(t, n, extreme, rng);
                const double want = ref(w.data(), a.q.data(), n);
                const double tol = term_bound(t, w, a.deq, n);
                for (const Level& lv : levels) {
                    const double got = pick(*lv.k, t)(w.data(), a.q.data(), n);
                    EXPECT_NEAR(got, want, tol) << type_name(t) << " " << lv.name << " n=" << n << " fill="
                                                << static_cast<int>(fill) << " extreme=" << extreme;
                }
                ++cases;
            }
        }
    }
    // Real blocks from the model / the gguf fixtures as weights.
    const auto real = read_file(type_name(t) + ".blocks");
    const int64_t n = static_cast<int64_t>(real.size() / dtype_info(t).block_bytes * be);
    const Act a = make_act(t, n, false, rng);
    const double want = ref(real.data(), a.q.data(), n);
    std::vector<float> wd = dequant(t, real.data(), n);
    bool finite = true;
    for (float v : wd) finite = finite && std::isfinite(v);
    if (finite) {
        const double tol = term_bound(t, real, a.deq, n);
        for (const Level& lv : levels)
            EXPECT_NEAR(pick(*lv.k, t)(real.data(), a.q.data(), n), want, tol) << type_name(t) << " " << lv.name << " fixture";
    }
    EXPECT_GT(cases, 0);
}

// vec_dot(w, quantize(x)) against dot(dequantize(w), x) in double: the only differences are
// the activation rounding (bounded per element by half a quantization step, plus the fp16
// rounding of the Q8_0 scale) and float summation (1e-5 of the sum of |terms|).
TEST_P(DotSimd, CloseToFloatDotWithinActivationRounding) {
    const DType t = GetParam();
    const int64_t be = dtype_info(t).block_elems;
    const int64_t bs = be == 1 ? 32 : be;
    const DType at = vec_dot_type(t);
    std::mt19937 rng(static_cast<unsigned>(t) * 31 + 5);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (bool scalar : {false, true}) {
        force_scalar(scalar);
        for (int64_t blocks : {1, 5, 28}) {
            const int64_t n = blocks * bs;
            const auto w = make_weights(t, n, Fill::Random, rng);
            const auto wd = dequant(t, w.data(), n);
            std::vector<float> x(static_cast<size_t>(n));
            for (auto& v : x) v = nd(rng);
            std::vector<uint8_t> q(dtype_row_bytes(at, n));
            quantize_row(at, x.data(), q.data(), n);
            double exact = 0, terms = 0, rounding = 0;
            const int64_t ab = at == DType::F32 ? 1 : dtype_info(at).block_elems;
            for (int64_t b0 = 0; b0 < n; b0 += ab) {
                double step = 0;  // bound on |x - dequantized activation| in this block
                if (at == DType::Q8_0) {
                    const auto& blk = reinterpret_cast<const BlockQ8_0*>(q.data())[b0 / ab];
                    float amax = 0;
                    for (int64_t i = b0; i < b0 + ab; ++i) amax = std::max(amax, std::fabs(x[i]));
                    const double d = amax / 127.0, dh = fp16_to_f32(blk.d);
                    step = d / 2 + 127 * std::fabs(dh - d) + 1e-7 * amax;
                } else if (at == DType::Q8_K) {
                    step = std::fabs(reinterpret_cast<const BlockQ8_K*>(q.data())[b0 / ab].d) * 0.5001;
                }
                for (int64_t i = b0; i < b0 + ab; ++i) {
                    exact += static_cast<double>(wd[i]) * x[i];
                    rounding += std::fabs(static_cast<double>(wd[i])) * step;
                }
            }
            terms = term_bound(t, w, x, n) * 1.1;  // activations slightly off x: widen a little
            const double got = vec_dot(t, w.data(), q.data(), n);
            EXPECT_NEAR(got, exact, rounding + terms) << type_name(t) << " n=" << n << " scalar=" << scalar;
        }
    }
    force_scalar(false);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DotSimd, ::testing::ValuesIn(kWeightTypes),
                         [](const auto& p) { return type_name(p.param); });

TEST(QuantLevel, ForceScalarSwitchesLevel) {
    const std::string detected = simd_level();
    force_scalar(true);
    EXPECT_STREQ(simd_level(), "scalar");
    force_scalar(false);
    EXPECT_EQ(detected, simd_level());
}

}  // namespace
}  // namespace hearth::quant
