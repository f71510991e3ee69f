// Scalar reference of the tiled matrix kernels: every (row, token) pair through the scalar
// dot product. The SIMD tile kernels are tested against this.
#include "quant/kernels.h"

namespace hearth::quant {
namespace {

template <DType W>
void gemm_ref(const void* w, size_t ws, const void* act, size_t as, int64_t n, float* y, size_t ldy, int64_t nr,
              int64_t nt) {
    const VecDotFn dot = pick(scalar_kernels(), W);
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(act);
    for (int64_t t = 0; t < nt; ++t)
        for (int64_t r = 0; r < nr; ++r)
            y[static_cast<size_t>(t) * ldy + static_cast<size_t>(r)] =
                dot(wb + static_cast<size_t>(r) * ws, ab + static_cast<size_t>(t) * as, n);
}

}  // namespace

const GemmKernels& scalar_gemm_kernels() {
    static const GemmKernels k{gemm_ref<DType::Q4_0>, gemm_ref<DType::Q5_0>, gemm_ref<DType::Q8_0>,
                               gemm_ref<DType::Q4_K>, gemm_ref<DType::Q6_K>};
    return k;
}

}  // namespace hearth::quant
