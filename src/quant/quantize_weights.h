#pragma once
// Weight quantizers: float rows -> GGUF blocks of a storage type, for `hearth quantize`.
// Unlike the activation quantizers in quant.h (one fast pass per token), these run once per
// model file, so the K-quants spend time on a search: per sub-block, several candidate scales
// with a weighted least-squares fit of scale and minimum, refined until the error stops
// falling; then the six/eight-bit sub-block scales and the fp16 super-block scales are fitted
// again with the quants fixed. The legacy 32-element types follow ggml's reference rounding
// exactly, so their bytes equal those of llama.cpp and the `gguf` Python package.
#include <cstdint>

#include "core/dtype.h"

namespace hearth::quant {

// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
bool weight_quant_supported(DType t);

// Quantizes one row of n floats into dst (dtype_row_bytes(t, n) bytes). Throws hearth::Error
// naming the element when an input is NaN or infinite, when a value is too large for the
// type's fp16 scales (or for F16 itself), when n is not a multiple of the block size, or when
// t is not supported.
void quantize_weight_row(DType t, const float* src, void* dst, int64_t n);

// The textbook baseline for the K-quants: each sub-block's scale and minimum straight from
// its max-abs / min-max, rounded once. Kept to measure what the search buys (tests and
// tools report the RMSE of both). For other types this is quantize_weight_row.
void quantize_weight_row_naive(DType t, const float* src, void* dst, int64_t n);

}  // namespace hearth::quant
