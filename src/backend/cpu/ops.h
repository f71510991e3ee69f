#pragma once
// CPU building blocks of a transformer layer. Row-major activations: a batch of n tokens
// of width d is n*d floats.
#include <cstdint>

#include "core/dtype.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::backend::cpu {

// y = x / rms(x) * w, per row of width d (w may be null for no weight). y may equal x.
// The sum of squares is accumulated in double, as the reference does.
void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t d, float eps);
// The same, rows split over the pool (one thread when the batch is small).
void rms_norm(ThreadPool& pool, const float* x, const float* w, float* y, int64_t n_rows, int64_t d, float eps);

// Rotary embedding in place on n_rows rows of n_heads heads of width head_dim; the first
// rope_dims of each head rotate. positions[r] is the position of row r. freq_factors (may
// be null) divides each frequency (Llama-3 style scaling). neox chooses the pairing.
void rope(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t rope_dims,
          const int32_t* positions, float base, float pos_scale, const float* freq_factors, bool neox);

// out = silu(gate) * up, elementwise over n; out may equal gate or up. exp is a vectorised
// polynomial (within 4 ulp of std::exp, see simd_exp.h) where the CPU has AVX2/AVX-512.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void swiglu(ThreadPool& pool, const float* gate, const float* up, float* out, int64_t n);

void add_inplace(float* x, const float* y, int64_t n);
void add_inplace(ThreadPool& pool, float* x, const float* y, int64_t n);
// Adds the same row `bias` (width d) to every row of x.
void add_bias(float* x, const float* bias, int64_t n_rows, int64_t d);

// Numerically stable softmax in place.
void softmax(float* x, int64_t n);

}  // namespace hearth::backend::cpu
