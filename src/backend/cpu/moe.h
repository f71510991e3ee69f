#pragma once
// Expert feed-forward for a batch: tokens are grouped by expert so that each chosen expert's
// weights are read once per call (decode reads only the k active experts).
#include <cstdint>

#include "backend/cpu/matmul.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::backend::cpu {

// A 3-D GGUF tensor [cols, rows, n_expert]: n_expert matrices of `rows` rows, stored back to back.
struct ExpertWeights {
    Weight all;            // all experts as one matrix of rows * n_expert rows
    int64_t rows = 0;      // rows of one expert
    int64_t n_expert = 0;
    Weight expert(int64_t e) const {
        Weight w = all;
        w.rows = rows;
        w.data = all.data + static_cast<size_t>(e) * static_cast<size_t>(rows) * all.row_bytes;
        return w;
    }
    bool empty() const { return all.empty(); }
};

// The rows [first, first + n) of w as a matrix of its own.
inline Weight row_slice(const Weight& w, int64_t first, int64_t n) {
    Weight s = w;
    s.rows = n;
    s.data = w.data + static_cast<size_t>(first) * w.row_bytes;
    return s;
}

// out[t] = sum_j weights[t*k+j] * down_e(silu(gate_e x_t) * up_e x_t), e = ids[t*k+j].
// x: n_tokens x d, out: n_tokens x d (overwritten). Experts are visited in index order.
void moe_swiglu_experts(ThreadPool& pool, const ExpertWeights& gate, const ExpertWeights& up, const ExpertWeights& down,
                        const float* x, int64_t n_tokens, const int32_t* ids, const float* weights, int64_t k,
                        float* out);

}  // namespace hearth::backend::cpu
