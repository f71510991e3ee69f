#pragma once
// Causal multi-head attention with grouped KV heads over a cache of past keys/values.
#include <cstdint>

#include "core/dtype.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::backend::cpu {

struct AttentionArgs {
    const float* q = nullptr;  // n_tokens x n_head x head_dim_k
    int64_t n_tokens = 0;
    int64_t pos0 = 0;          // position of the first query token; token t sees keys 0..pos0+t
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim_k = 0;
    int64_t head_dim_v = 0;
    float scale = 1.0f;
    DType kv_type = DType::F32;   // F32 or F16
    const uint8_t* k = nullptr;   // row p at k + p * k_stride bytes, heads contiguous in a row
    const uint8_t* v = nullptr;
    size_t k_stride = 0;
    size_t v_stride = 0;
    float* out = nullptr;      // n_tokens x n_head x head_dim_v
};

// One pass with an online softmax (running max and sum), so no score buffer of context
// length is needed. With an F16 cache, q is rounded to F16 before q.k, as llama.cpp's F16
// path does, so that near-ties in greedy decoding break the same way.
void attention(ThreadPool& pool, const AttentionArgs& a);

}  // namespace hearth::backend::cpu
