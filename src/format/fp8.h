#pragma once
// FP8 weights as Hugging Face checkpoints store them (safetensors F8_E4M3 / F8_E5M2) and their
// block-scaled dequantization (DeepSeek-V3/R1, Kimi-K2, Qwen3-FP8: 128x128 blocks, one scale
// per block in `<name>.weight_scale_inv`). Import-time only: the result is BF16, which the
// engine computes with; nothing here runs during inference.
#include <cstdint>
#include <string>

namespace hearth::format {

enum class Fp8Format { kE4M3, kE5M2 };

// OCP FP8 decoding. E4M3 ("e4m3fn"): bias 7, no infinities, S.1111.111 is NaN, largest finite
// 448, subnormals m/8 * 2^-6. E5M2: bias 15, IEEE-like (infinities, NaNs, subnormals m/4 * 2^-14).
float fp8_e4m3_to_float(uint8_t code);
float fp8_e5m2_to_float(uint8_t code);
float fp8_to_float(Fp8Format f, uint8_t code);

// Block scales: an F32, BF16 or F16 tensor of [ceil(rows/block_rows), ceil(cols/block_cols)]
// elements (row-major), already widened to float by the caller.
struct Fp8BlockScales {
    const float* scale = nullptr;  // scale_rows * scale_cols values
    int64_t scale_rows = 0, scale_cols = 0;
    int64_t block_rows = 128, block_cols = 128;
};

// out[r * cols + c] = bf16(decode(w[r * cols + c]) * scale[r / block_rows][c / block_cols]), the
// product taken in float and rounded to nearest-even, which is what DeepSeek's fp8_cast_bf16
// conversion writes. Edge blocks (rows or cols not a multiple of the block) use their block's
// scale for the part that exists. The caller has checked the scale shape (fp8_scale_shape_error).
void dequantize_fp8_blocks_to_bf16(Fp8Format f, const uint8_t* w, int64_t rows, int64_t cols,
                                   const Fp8BlockScales& s, uint16_t* out);

// Empty when scale_rows x scale_cols is the block grid of a rows x cols weight; else what is wrong.
std::string fp8_scale_shape_error(int64_t rows, int64_t cols, const Fp8BlockScales& s);

}  // namespace hearth::format
