#pragma once
// Block-scaled FP8 checkpoints in the Hugging Face importer (DeepSeek-V3/R1, Kimi-K2,
// Qwen3-*-FP8): config.json's quantization_config
//   {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128], "activation_scheme": "dynamic"}
// and, per FP8 weight `X.weight` (safetensors F8_E4M3 or F8_E5M2), a `X.weight_scale_inv` tensor of
// one multiplier per block. Each such weight is dequantized once, at import, into a BF16 buffer:
// BF16 is what DeepSeek's own fp8_cast_bf16 conversion writes (the same values, bit for bit), the
// engine computes with it directly, and it costs 2 bytes per weight in memory (twice the FP8
// file; `hearth quantize DIR OUT.gguf Q8_0` then makes a 1.06-byte-per-weight file).
// Activation quantization (activation_scheme) is not emulated: activations stay in float.
#include <memory>
#include <string>

#include "format/fp8.h"
#include "format/gguf.h"
#include "format/hf_import_detail.h"
#include "format/safetensors.h"

namespace hearth::format::hf {

struct Fp8Config {
    bool present = false;  // config.json declares block-scaled FP8 weights
    Fp8Format fmt = Fp8Format::kE4M3;
    int64_t block_rows = 128, block_cols = 128;
};

// Reads quantization_config; absent means no FP8 weights are expected. Throws hearth::Error
// naming the field for any other quant_method or a malformed block size.
Fp8Config read_fp8_config(const JsonObject& cfg);

// "F8_E4M3" / "F8_E5M2".
bool is_fp8_dtype(const std::string& safetensors_dtype);

// The name of the scale tensor of FP8 weight `weight_name` ("X.weight" -> "X.weight_scale_inv").
std::string fp8_scale_name(const std::string& weight_name);

// Dequantizes one FP8 weight (2-D, torch order [rows, cols]) with its block scales into BF16,
// same shape. `where_w` / `where_s` name the tensors in errors; `scale` may be null (an error).
std::shared_ptr<OwnedBuffer> dequantize_fp8_weight(const Fp8Config& fp8, const SafetensorsTensor& w,
                                                   const std::string& where_w, const SafetensorsTensor* scale,
                                                   const std::string& where_s);

}  // namespace hearth::format::hf
