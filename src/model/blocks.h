#pragma once
// The layer blocks the families are assembled from. Each block reads the residual stream
// x (n rows of n_embd floats), and adds its output to it.
#include <cstdint>
#include <vector>

#include "backend/cpu/matmul.h"
#include "model/hparams.h"
#include "model/kv_cache.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::model {

// Standard (grouped-query) self-attention with optional q/k/v biases and per-head q/k norms.
struct AttentionWeights {
    std::vector<float> norm;            // pre-attention RMSNorm gain
    backend::cpu::Weight wq, wk, wv, wo;
    std::vector<float> bq, bk, bv;      // empty when absent
    std::vector<float> q_norm, k_norm;  // per-head RMSNorm gains, empty when absent
};

// SwiGLU feed-forward: down(silu(gate x) * up x).
struct DenseFfnWeights {
    std::vector<float> norm;            // pre-FFN RMSNorm gain
    backend::cpu::Weight gate, up, down;
};

// What a forward call shares across its layers.
struct ForwardBatch {
    ThreadPool& pool;
    KVCache& cache;
    int64_t n;                          // tokens in this call
    int64_t pos0;                       // position of the first one
    const std::vector<int32_t>& positions;
    const float* rope_freqs;            // per-frequency divisors or nullptr
};

void attention_block(const HParams& hp, const AttentionWeights& w, int64_t layer, ForwardBatch& b, float* x);
void dense_ffn_block(const HParams& hp, const DenseFfnWeights& w, ForwardBatch& b, float* x);

}  // namespace hearth::model
