#pragma once
// The expert feed-forward of a mixture-of-experts layer for a batch of tokens: each token's k
// chosen experts (SwiGLU FFNs) weighted and summed, plus an always-on shared expert if present.
// Decode reads only the chosen experts' weights, and each of them once per call.
#include <cstddef>
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

struct ExpertFfn {
    ExpertWeights gate, up, down;      // routed experts
    Weight gate_sh, up_sh, down_sh;    // the shared expert, all empty if the family has none
    bool has_shared() const { return !gate_sh.empty(); }
};

// Small batches (decode, a server step of a few sequences) take the fused path, larger ones
// (prefill) the by-expert one; see moe.cpp.
constexpr int64_t kMoeFusedMaxTokens = 16;

// Bytes of workspace moe_ffn needs for n_tokens tokens with k experts each on n_threads threads.
size_t moe_workspace_bytes(const ExpertFfn& f, int64_t n_tokens, int64_t k, int n_threads);

// out[t] = sum_j weights[t*k+j] * down_e(silu(gate_e x_t) * up_e x_t), e = ids[t*k+j], plus the
// shared expert's output for x_t if present. x, out: n_tokens x d (out overwritten). workspace:
// moe_workspace_bytes(...) bytes, 64-byte aligned, owned by the caller so that a steady decode
// loop allocates nothing. An id may repeat, across tokens or within one.
void moe_ffn(ThreadPool& pool, const ExpertFfn& f, const float* x, int64_t n_tokens, const int32_t* ids,
             const float* weights, int64_t k, float* out, void* workspace);

}  // namespace hearth::backend::cpu
