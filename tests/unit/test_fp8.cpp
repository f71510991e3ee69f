// FP8 decoding against torch's float8_e4m3fn / float8_e5m2 (every byte, from
// tools/gen_fp8_codes.py) and the block-scaled dequantization the Hugging Face importer uses.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/fp8.h"
#include "quant/quant.h"

using hearth::format::Fp8BlockScales;
using hearth::format::Fp8Format;

namespace {

nlohmann::json codes() {
    std::ifstream in(std::filesystem::path(HEARTH_FIXTURES) / "fp8" / "codes.json");
    return nlohmann::json::parse(in);
}

double golden(const nlohmann::json& v) {
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s == "nan") return std::nan("");
        return s == "inf" ? INFINITY : -INFINITY;
    }
    return v.get<double>();
}

void expect_all_codes(const char* key, Fp8Format f) {
    const nlohmann::json table = codes()[key];
    ASSERT_EQ(table.size(), 256u);
    int nans = 0;
    for (int c = 0; c < 256; ++c) {
        const double want = golden(table[static_cast<size_t>(c)]);
        const float got = hearth::format::fp8_to_float(f, static_cast<uint8_t>(c));
        if (std::isnan(want)) {
            EXPECT_TRUE(std::isnan(got)) << key << " code " << c;
            ++nans;
            continue;
        }
        // Bit-exact, the sign of zero included.
        EXPECT_EQ(static_cast<double>(got), want) << key << " code " << c;
        EXPECT_EQ(std::signbit(got), std::signbit(want)) << key << " code " << c;
    }
    EXPECT_EQ(nans, f == Fp8Format::kE4M3 ? 2 : 6) << key;
}

}  // namespace

TEST(Fp8, E4M3EveryCodeEqualsTorch) {
    expect_all_codes("e4m3", Fp8Format::kE4M3);
    EXPECT_EQ(hearth::format::fp8_e4m3_to_float(0x7E), 448.0f);           // largest finite
    EXPECT_EQ(hearth::format::fp8_e4m3_to_float(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
}

TEST(Fp8, E5M2EveryCodeEqualsTorch) {
    expect_all_codes("e5m2", Fp8Format::kE5M2);
    EXPECT_TRUE(std::isinf(hearth::format::fp8_e5m2_to_float(0x7C)));
}

// A 130 x 200 weight in 64 x 128 blocks: a partial last block row (2 rows) and column (72 cols).
TEST(Fp8, BlockDequantizationUsesEachBlocksScaleAtTheEdges) {
    const int64_t rows = 130, cols = 200;
    std::vector<uint8_t> w(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint8_t>((i * 37 + 11) % 256 == 0x7F ? 0x3C : (i * 37 + 11) % 126);
    const std::vector<float> sc = {0.5f, 3.0f, 0.125f, 7.0f, 1e-3f, 2.5f};  // 3 x 2 blocks
    Fp8BlockScales s{sc.data(), 3, 2, 64, 128};
    ASSERT_EQ(hearth::format::fp8_scale_shape_error(rows, cols, s), "");
    std::vector<uint16_t> out(w.size());
    hearth::format::dequantize_fp8_blocks_to_bf16(Fp8Format::kE4M3, w.data(), rows, cols, s, out.data());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            const size_t i = static_cast<size_t>(r * cols + c);
            const float want = hearth::format::fp8_e4m3_to_float(w[i]) * sc[static_cast<size_t>((r / 64) * 2 + c / 128)];
            ASSERT_EQ(out[i], hearth::quant::f32_to_bf16(want)) << r << "," << c;
        }
    // The last row and column really took the edge block's scale (block [2][1] = 2.5).
    const size_t last = static_cast<size_t>(rows * cols - 1);
    EXPECT_EQ(hearth::quant::bf16_to_f32(out[last]), hearth::quant::bf16_to_f32(hearth::quant::f32_to_bf16(
                                                          hearth::format::fp8_e4m3_to_float(w[last]) * 2.5f)));
}

// Tensors over 1M elements are split by rows across threads; the result must not change.
TEST(Fp8, LargeTensorsSplitAcrossThreadsGiveTheSameValues) {
    const int64_t rows = 1100, cols = 2000;  // 9 x 16 blocks, both edges partial
    std::vector<uint8_t> w(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint8_t>((i * 2654435761u) >> 13) & 0xF7;  // no NaN codes
    std::vector<float> sc(9 * 16);
    for (size_t i = 0; i < sc.size(); ++i) sc[i] = 0.001f * static_cast<float>(i + 1);
    Fp8BlockScales s{sc.data(), 9, 16, 128, 128};
    std::vector<uint16_t> out(w.size());
    hearth::format::dequantize_fp8_blocks_to_bf16(Fp8Format::kE4M3, w.data(), rows, cols, s, out.data());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            const size_t i = static_cast<size_t>(r * cols + c);
            const float want = hearth::format::fp8_e4m3_to_float(w[i]) * sc[static_cast<size_t>((r / 128) * 16 + c / 128)];
            ASSERT_EQ(out[i], hearth::quant::f32_to_bf16(want)) << r << "," << c;
        }
}

TEST(Fp8, ScaleShapeErrorsNameBothShapes) {
    Fp8BlockScales s{nullptr, 1, 2, 128, 128};
    EXPECT_EQ(hearth::format::fp8_scale_shape_error(128, 129, s), "");
    const std::string e = hearth::format::fp8_scale_shape_error(129, 129, s);
    EXPECT_NE(e.find("[1, 2]"), std::string::npos) << e;
    EXPECT_NE(e.find("needs [2, 2]"), std::string::npos) << e;
    s.block_rows = 0;
    EXPECT_NE(hearth::format::fp8_scale_shape_error(128, 129, s), "");
}
