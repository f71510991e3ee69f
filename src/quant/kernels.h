#pragma once
// Internal kernel tables. Each dot kernel takes n (a multiple of the block size) and
// returns the dot of one weight row with one activation row. The scalar set is the
// reference every SIMD set is tested against.
#include <cstdint>

#include "core/dtype.h"
#include "quant/quant.h"

namespace hearth::quant {

struct DotKernels {
    VecDotFn f32, f16, bf16;
    VecDotFn q4_0, q4_1, q5_0, q5_1, q8_0;
    VecDotFn q2_k, q3_k, q4_k, q5_k, q6_k;
};

// Null entry = that level has no kernel for the type; dispatch falls back to scalar.
const DotKernels& scalar_kernels();
const DotKernels& avx2_kernels();
const DotKernels& avx512_kernels();

// Tiled matrix kernels (see GemmFn); null = none at that level.
struct GemmKernels {
    GemmFn q4_0, q5_0, q8_0, q4_k, q6_k;
};
const GemmKernels& scalar_gemm_kernels();  // loops over the scalar dot: the reference
const GemmKernels& avx2_gemm_kernels();
const GemmKernels& avx512_gemm_kernels();
// The prefill set (see prefill_gemm_fn): at the AVX-512 level the 32-element formats' panels
// (gemm_panels_avx512.h), the K-quants' tiles as in avx512_gemm_kernels().
const GemmKernels& avx512_prefill_gemm_kernels();
GemmFn pick_gemm(const GemmKernels& k, DType w);

// Per-type entry of a table, or nullptr for types without a dot product.
VecDotFn pick(const DotKernels& k, DType w);

// Scalar conversion and quantization primitives (reference.cpp).
void dequantize_row_ref(DType t, const void* src, float* dst, int64_t n);
void quantize_row_q8_0(const float* x, void* dst, int64_t n);
void quantize_row_q8_k(const float* x, void* dst, int64_t n);
void quantize_row_q4_0(const float* x, void* dst, int64_t n);
// AVX-512 versions of the activation quantizers, byte-identical to the scalar ones.
void quantize_row_q8_0_avx512(const float* x, void* dst, int64_t n);
void quantize_row_q8_k_avx512(const float* x, void* dst, int64_t n);

}  // namespace hearth::quant
