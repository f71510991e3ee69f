#pragma once
// The layer blocks the families are assembled from. Each block reads the residual stream
// x (n rows of n_embd floats), and adds its output to it.
//
// A forward batch holds rows of one or more sequences (continuous batching): rows are
// grouped by sequence, each group contiguous and in position order, and each sequence has
// its own KV cache. Everything that multiplies by a weight runs once over all rows (so a
// decode step of 16 sequences reads every weight once); only attention is per sequence.
#include <cstdint>
#include <new>
#include <span>
#include <vector>

#include "backend/cpu/attention.h"
#include "backend/cpu/matmul.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/scratch_arena.h"

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

// The rows of one sequence in a batch: rows [row0, row0 + n) are its positions
// pos0 .. pos0 + n - 1, whose keys/values go to `cache`.
struct SeqRows {
    KVCache* cache;
    int64_t row0;
    int64_t n;
    int64_t pos0;
};

// What a forward call shares across its layers.
struct ForwardBatch {
    ThreadPool& pool;
    ScratchArena& scratch;
    int64_t n;                          // rows in this call, all sequences together
    const int32_t* positions;           // per row
    std::span<const SeqRows> seqs;
    const float* rope_freqs;            // per-frequency divisors or nullptr
    std::span<const backend::cpu::RowRange> prompt_rows;  // rows of prompt tokens (see SeqChunk::decode)
};

void attention_block(const HParams& hp, const AttentionWeights& w, int64_t layer, ForwardBatch& b, float* x);
void dense_ffn_block(const HParams& hp, const DenseFfnWeights& w, ForwardBatch& b, float* x);

// Stores each row's key (and value, when v_width > 0) in its sequence's cache at its position.
void store_rows(ForwardBatch& b, int64_t layer, const float* k, int64_t k_width, const float* v, int64_t v_width);

// Causal attention of each sequence's rows against its own cache. args_for(s) gives the
// arguments for sequence s's rows (q, out, cache pointers and pos0 already offset). With
// one sequence this is one backend::cpu::attention call; with several, all (sequence,
// token, kv head) jobs share one parallel region, longest first.
template <class ArgsFor>
void attention_per_sequence(ForwardBatch& b, ArgsFor&& args_for);
void attention_jobs(ForwardBatch& b, std::span<const backend::cpu::AttentionArgs> per_seq);

template <class ArgsFor>
void attention_per_sequence(ForwardBatch& b, ArgsFor&& args_for) {
    ScratchScope scope(b.scratch);
    auto* args = b.scratch.alloc<backend::cpu::AttentionArgs>(b.seqs.size());
    for (size_t s = 0; s < b.seqs.size(); ++s) new (&args[s]) backend::cpu::AttentionArgs(args_for(b.seqs[s]));
    attention_jobs(b, std::span<const backend::cpu::AttentionArgs>(args, b.seqs.size()));
}

}  // namespace hearth::model
