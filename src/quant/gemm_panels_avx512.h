#pragma once
// Prefill kernels for the 32-element formats at the AVX-512 level (gemm_panels_avx512.cpp):
// weights laid out 16 rows to a panel, one row per 32-bit lane, so that vpdpbusd sums a whole
// block of a row in one lane and each block costs one conversion and one multiply-add per
// 16 rows and token, where the row-major tiles spend them per 4 elements.
//
// Same contract as GemmFn; the prefill entries of quant::prefill_gemm_fn (prompt rows, any
// number of them). Each output's blocks are summed in order, one multiply-add per block, so a
// value does not depend on the tile, panel or call it fell in (nor on how a prompt was cut
// into chunks and passes); it is not the decode kernels' order, which is why rows are routed
// by where their tokens came from.
#include <cstddef>
#include <cstdint>

namespace hearth::quant::avx512 {

void gemm_panels_q4_0(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
                      int64_t nt);
void gemm_panels_q5_0(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
                      int64_t nt);
void gemm_panels_q8_0(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
                      int64_t nt);

}  // namespace hearth::quant::avx512
