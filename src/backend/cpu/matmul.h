#pragma once
// y = W x for a batch of activation rows, with W in any supported (quantized) type.
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::backend::cpu {

// A weight matrix as stored in GGUF: `rows` rows of `cols` contiguous elements
// (cols is GGUF's shape[0]); row r starts at data + r * row_bytes.
struct Weight {
    DType type = DType::F32;
    int64_t cols = 0;
    int64_t rows = 0;
    size_t row_bytes = 0;
    const uint8_t* data = nullptr;
    bool empty() const { return data == nullptr; }
};

// x: n_tokens rows of w.cols floats; y: n_tokens rows of w.rows floats.
// Activations are quantized once to the weight type's dot-product format. With several
// tokens, (64-token x 16-row) blocks are handed out to the pool dynamically and computed by
// the tiled kernels (quant::gemm_fn: 4 rows x 4 tokens per register tile), so each unpacked
// weight block serves several tokens. With one token (decode), each thread reads one
// contiguous share of the rows as a single sequential stream. Types without a tiled kernel
// loop over quant::vec_dot_fn, looked up once per call.
void matmul(ThreadPool& pool, const Weight& w, const float* x, int64_t n_tokens, float* y);

// Reference mode for tests and debugging: weights are dequantized to F32 and multiplied
// with unquantized activations, so results differ from a float reference only by
// arithmetic order. Slow; process-wide.
void set_reference_matmul(bool on);
bool reference_matmul();

// Copies row `index` of w, dequantized, into out (w.cols floats): embedding lookup.
void get_row(const Weight& w, int64_t index, float* out);

}  // namespace hearth::backend::cpu
