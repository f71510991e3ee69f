#pragma once
// y = W^T x: the transposed product with a stored weight, for MLA's absorbed query
// (q_nope folded through the k up-projection) when the file stores that projection the
// other way round. Each weight row is dequantized once and used for every token. One thread.
#include <cstdint>

#include "backend/cpu/matmul.h"

namespace hearth::backend::cpu {

// x: n_tokens rows of w.rows floats; y: n_tokens rows of w.cols floats (overwritten).
void matmul_transposed(const Weight& w, const float* x, int64_t n_tokens, float* y);

// y = W x on one thread with dequantized weights and float activations (no activation
// quantization): for callers already inside a parallel region.
void matmul_serial_f32(const Weight& w, const float* x, int64_t n_tokens, float* y);

}  // namespace hearth::backend::cpu
