#pragma once
// Block formats of the quantized types and the row operations the engine needs:
// dequantize a row, quantize activations for the integer dot products, and dot a weight
// row with quantized activations. Each op has a scalar reference (quant/reference.cpp)
// and SIMD paths chosen at run time; tests hold every SIMD path to the reference.
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace hearth::quant {

// Element i of a row of type t into floats. n must be a multiple of the block size.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);

// The activation format a weight type's dot product wants (e.g. Q8_0 for Q4_0/Q5_0/Q8_0,
// Q8_K for the K-quants, F32 for F32/F16/BF16).
DType vec_dot_type(DType weight);

// Quantizes n floats into `t` blocks (t is Q8_0, Q8_K or F32 as returned by vec_dot_type,
// and also any type `quantize_row_supported` reports). dst must hold dtype_row_bytes(t, n).
void quantize_row(DType t, const float* src, void* dst, int64_t n);
bool quantize_row_supported(DType t);

// Dot product of one weight row (type w, n elements) with activations already quantized
// to vec_dot_type(w).
float vec_dot(DType w, const void* wrow, const void* act, int64_t n);

// The kernel vec_dot would call for w at the current SIMD level, for loops over many rows
// that want to skip the per-call dispatch. Throws hearth::Error for unsupported types.
using VecDotFn = float (*)(const void* wrow, const void* act, int64_t n);
VecDotFn vec_dot_fn(DType w);

// Tiled matrix product over a block of weight rows and activation rows:
//   y[t * ldy + r] = dot(weight row r, activation row t)   for r < nr, t < nt,
// weight row r at w + r * w_stride (type w, n elements), activation row t at act + t * act_stride
// (already quantized to vec_dot_type(w)). Kernels work on tiles of up to kGemmRows x kGemmTokens,
// keeping the partial sums in registers so each unpacked weight block serves several tokens.
// Results equal the per-pair vec_dot up to float summation order.
constexpr int kGemmRows = 4;
constexpr int kGemmTokens = 4;
using GemmFn = void (*)(const void* w, size_t w_stride, const void* act, size_t act_stride, int64_t n, float* y,
                        size_t ldy, int64_t nr, int64_t nt);
// The tiled kernel for w at the current SIMD level, or nullptr if w has none (callers then loop
// over vec_dot_fn(w)). Whatever the shape of a call, its outputs equal this level's vec_dot
// bit for bit for the 32-element formats, and one fixed order of the tile's own for the
// K-quants: the decode kernels.
GemmFn gemm_fn(DType w);
// The kernel for prompt rows: the same contract, and again one fixed summation order per
// output whatever the call's shape, but not gemm_fn's: at the AVX-512 level the 32-element
// formats sum a block at a time with rows in lanes (about twice gemm_fn's prefill speed).
// Callers pick by where a row's token came from (prompt or sampled), never by batch size,
// so a sequence's results do not depend on what it was batched with. Same as gemm_fn where a
// level has no separate prefill kernel.
GemmFn prefill_gemm_fn(DType w);

// Which SIMD level is in use ("avx512", "avx2", "scalar"); can be forced to "scalar" for tests.
const char* simd_level();
void force_scalar(bool on);

// fp16/bf16 <-> f32
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace hearth::quant
