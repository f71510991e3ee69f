#include "format/fp8.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

#include "quant/quant.h"

namespace hearth::format {
namespace {

// Both decoders are exact in float: at most 3 mantissa bits and exponents within float's range.
float decode_e4m3(uint8_t code) {
    const float sign = (code & 0x80) ? -1.0f : 1.0f;
    const int e = (code >> 3) & 0xF, m = code & 0x7;
    if (e == 0xF && m == 0x7) return std::numeric_limits<float>::quiet_NaN();
    if (e == 0) return sign * std::ldexp(static_cast<float>(m), -9);  // m/8 * 2^(1-7)
    return sign * std::ldexp(static_cast<float>(8 + m), e - 10);       // (1 + m/8) * 2^(e-7)
}

float decode_e5m2(uint8_t code) {
    const float sign = (code & 0x80) ? -1.0f : 1.0f;
    const int e = (code >> 2) & 0x1F, m = code & 0x3;
    if (e == 0x1F) return m == 0 ? sign * std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
    if (e == 0) return sign * std::ldexp(static_cast<float>(m), -16);  // m/4 * 2^(1-15)
    return sign * std::ldexp(static_cast<float>(4 + m), e - 17);      // (1 + m/4) * 2^(e-15)
}

// 256-entry tables: the dequantization loop is a lookup and a multiply per element.
const std::array<float, 256>& table(Fp8Format f) {
    static const auto make = [](float (*dec)(uint8_t)) {
        std::array<float, 256> t{};
        for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = dec(static_cast<uint8_t>(i));
        return t;
    };
    static const std::array<float, 256> e4m3 = make(decode_e4m3), e5m2 = make(decode_e5m2);
    return f == Fp8Format::kE4M3 ? e4m3 : e5m2;
}

}  // namespace

float fp8_e4m3_to_float(uint8_t code) { return table(Fp8Format::kE4M3)[code]; }
float fp8_e5m2_to_float(uint8_t code) { return table(Fp8Format::kE5M2)[code]; }
float fp8_to_float(Fp8Format f, uint8_t code) { return table(f)[code]; }

std::string fp8_scale_shape_error(int64_t rows, int64_t cols, const Fp8BlockScales& s) {
    if (s.block_rows <= 0 || s.block_cols <= 0) return "block size must be positive";
    const int64_t want_r = (rows + s.block_rows - 1) / s.block_rows, want_c = (cols + s.block_cols - 1) / s.block_cols;
    if (s.scale_rows == want_r && s.scale_cols == want_c) return {};
    return "has shape [" + std::to_string(s.scale_rows) + ", " + std::to_string(s.scale_cols) + "], but a [" +
           std::to_string(rows) + ", " + std::to_string(cols) + "] weight in " + std::to_string(s.block_rows) + "x" +
           std::to_string(s.block_cols) + " blocks needs [" + std::to_string(want_r) + ", " + std::to_string(want_c) +
           "]";
}

namespace {

void dequantize_rows(const std::array<float, 256>& t, const uint8_t* w, int64_t r0, int64_t r1, int64_t cols,
                     const Fp8BlockScales& s, uint16_t* out) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* srow = s.scale + (r / s.block_rows) * s.scale_cols;
        const uint8_t* in = w + r * cols;
        uint16_t* o = out + r * cols;
        for (int64_t c0 = 0; c0 < cols; c0 += s.block_cols) {
            const float sc = srow[c0 / s.block_cols];
            const int64_t c1 = std::min(cols, c0 + s.block_cols);
            for (int64_t c = c0; c < c1; ++c) o[c] = quant::f32_to_bf16(t[in[c]] * sc);
        }
    }
}

}  // namespace

void dequantize_fp8_blocks_to_bf16(Fp8Format f, const uint8_t* w, int64_t rows, int64_t cols,
                                   const Fp8BlockScales& s, uint16_t* out) {
    const std::array<float, 256>& t = table(f);
    // A 671B-weight checkpoint is ~3 ns per weight on one core (half an hour): large tensors
    // are split by rows over the machine's cores. Small ones are not worth a thread start.
    const int64_t n_threads = std::min<int64_t>(std::max(1u, std::thread::hardware_concurrency()),
                                                rows * cols / (int64_t{1} << 20) + 1);
    if (n_threads <= 1) {
        dequantize_rows(t, w, 0, rows, cols, s, out);
        return;
    }
    std::vector<std::thread> threads;
    const int64_t per = (rows + n_threads - 1) / n_threads;
    for (int64_t r0 = 0; r0 < rows; r0 += per)
        threads.emplace_back(dequantize_rows, std::cref(t), w, r0, std::min(rows, r0 + per), cols, std::cref(s), out);
    for (auto& th : threads) th.join();
}

}  // namespace hearth::format
