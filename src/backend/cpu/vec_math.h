#pragma once
// Element-wise row kernels behind ops.h (exp, swiglu, rms_norm, add) at each SIMD level.
// The scalar set (std::exp, plain loops) is the reference the SIMD sets are tested against
// (tests/unit/test_ops.cpp); the SIMD exp and its range are described in simd_exp.h.
#include <cstdint>

namespace hearth::backend::cpu::vec {

struct RowKernels {
    void (*exp)(const float* x, float* y, int64_t n);
    // out = gate / (1 + exp(-gate)) * up
    void (*swiglu)(const float* gate, const float* up, float* out, int64_t n);
    // One row: y = x * (1 / sqrt(mean(x^2) + eps)) * w, sum of squares in double; w may be null.
    void (*rms_norm_row)(const float* x, const float* w, float* y, int64_t d, float eps);
    void (*add)(float* x, const float* y, int64_t n);
};

const RowKernels& scalar_row_kernels();
// Null when the CPU (or the build) lacks the level.
const RowKernels* avx2_row_kernels();
const RowKernels* avx512_row_kernels();

// The set for this CPU; follows quant::force_scalar so tests can pin the reference.
const RowKernels& row_kernels();

}  // namespace hearth::backend::cpu::vec
