// Scalar row kernels (the reference) and the choice of set for this CPU.
#include "backend/cpu/vec_math.h"

#include <cmath>
#include <cstring>

#include "quant/quant.h"

namespace hearth::backend::cpu::vec {
namespace {

void exp_ref(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void rms_norm_row_ref(const float* x, const float* w, float* y, int64_t d, float eps) {
    // Double accumulation: the reference (and llama.cpp's ggml_rms_norm) sums in high
    // precision, and rms is computed once per row, so it costs little.
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    if (w) {
        for (int64_t i = 0; i < d; ++i) y[i] = x[i] * scale * w[i];
    } else {
        for (int64_t i = 0; i < d; ++i) y[i] = x[i] * scale;
    }
}

void add_ref(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

const RowKernels& scalar_row_kernels() {
    static const RowKernels k{exp_ref, swiglu_ref, rms_norm_row_ref, add_ref};
    return k;
}

const RowKernels& row_kernels() {
    // The quant layer already detected the CPU (AVX-512 there also implies AVX2/FMA/F16C)
    // and owns the force-scalar switch the tests use.
    const char* level = quant::simd_level();
    if (std::strcmp(level, "avx512") == 0) {
        if (const RowKernels* k = avx512_row_kernels()) return *k;
    }
    if (std::strcmp(level, "scalar") != 0) {
        if (const RowKernels* k = avx2_row_kernels()) return *k;
    }
    return scalar_row_kernels();
}

}  // namespace hearth::backend::cpu::vec
