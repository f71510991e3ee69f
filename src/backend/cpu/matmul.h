#pragma once
// y = W x for a batch of activation rows, with W in any supported (quantized) type.
#include <cstdint>
#include <span>
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
    // rows x cols elements of type t at data, rows back to back.
    static Weight over(DType t, int64_t rows, int64_t cols, const uint8_t* data) {
        return Weight{t, cols, rows, dtype_row_bytes(t, cols), data};
    }
};

// x: n_tokens rows of w.cols floats; y: n_tokens rows of w.rows floats.
// Activations are quantized once to the weight type's dot-product format. With several
// tokens, (64-token x 16-row) blocks are handed out to the pool dynamically and computed by
// the tiled kernels (quant::gemm_fn: 4 rows x 4 tokens per register tile), so each unpacked
// weight block serves several tokens. With one token (decode), each thread reads one
// contiguous share of the rows as a single sequential stream. Types without a tiled kernel
// loop over quant::vec_dot_fn, looked up once per call.
// prompt_rows: the rows (sorted, disjoint ranges) whose tokens came from a prompt; they go
// through quant::prefill_gemm_fn, the others (tokens the model sampled: decode steps) through
// quant::gemm_fn. The forward pass marks them so that a row's result depends only on its own
// sequence, never on the rows it was batched with (see quant::prefill_gemm_fn).
struct RowRange {
    int64_t begin, end;
};
void matmul(ThreadPool& pool, const Weight& w, const float* x, int64_t n_tokens, float* y,
            std::span<const RowRange> prompt_rows = {});

// Building blocks for a caller that runs several products from the same inputs inside one
// parallel region of its own (the fused MoE expert step): activations are quantized once, then
// any row range of any matrix whose type shares that dot-product format is computed on them.
// Bytes of one activation row of `cols` floats in w_type's dot-product format.
size_t act_row_bytes(DType w_type, int64_t cols);
// Quantizes n_rows rows of cols floats into out (n_rows * act_row_bytes(w_type, cols) bytes), on the calling thread.
void quantize_acts(DType w_type, const float* x, int64_t n_rows, int64_t cols, uint8_t* out);
// y[t * ldy + i] = row (r0 + i) of w . activation row t, for r0 + i < r1 and t < n_tokens; act holds
// n_tokens rows of act_row bytes from quantize_acts. Single-threaded; ignores reference mode.
void matmul_rows(const Weight& w, int64_t r0, int64_t r1, const uint8_t* act, size_t act_row, int64_t n_tokens,
                 float* y, size_t ldy);

// Reference mode for tests and debugging: weights are dequantized to F32 and multiplied
// with unquantized activations, so results differ from a float reference only by
// arithmetic order. Slow; process-wide.
void set_reference_matmul(bool on);
bool reference_matmul();

// Copies row `index` of w, dequantized, into out (w.cols floats): embedding lookup.
void get_row(const Weight& w, int64_t index, float* out);

}  // namespace hearth::backend::cpu
