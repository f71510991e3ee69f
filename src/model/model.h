#pragma once
// A loaded decoder-only model: hyper-parameters, weights (views into the mapped GGUF file)
// and its tokenizer, with the forward pass shared by every dense family.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/cpu/matmul.h"
#include "model/architecture.h"
#include "model/blocks.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/mla_block.h"
#include "model/moe_block.h"
#include "model/scratch_arena.h"

namespace hearth {
class ThreadPool;
namespace format {
class GGUFFile;
}
namespace tokenizer {
class Tokenizer;
}
}  // namespace hearth

namespace hearth::model {

class TensorBinder;

// Parameters one token touches in a file of these hyper-parameters (see Model::n_active_params).
uint64_t count_active_params(const format::GGUFFile& f, const HParams& hp);

// Which logits a sequence's chunk asks for.
enum class Logits { kNone, kLast, kAll };

// What forward_batch writes for the rows a chunk asks for: logits (n_vocab floats per row), or
// the final-norm hidden state (n_embd floats per row: the output norm applied, the output
// matrix not), which is transformers' last_hidden_state and what embeddings are pooled from.
enum class Output { kLogits, kHidden };

// One sequence's share of a batched forward call: n tokens at positions cache->n_past() ..
// + n - 1. Each chunk needs its own cache (one sequence appears at most once per call).
// `decode` marks tokens the model sampled (a decode step) rather than prompt tokens: the two
// kinds of rows go through weight kernels with different float summation orders (see
// backend::cpu::matmul), each the same whatever else is in the batch, so a sequence's
// results do not depend on the sequences it shares a batch with or on how its prompt was cut.
struct SeqChunk {
    KVCache* cache = nullptr;
    const int32_t* tokens = nullptr;
    int64_t n = 0;
    Logits logits = Logits::kLast;
    bool decode = false;
};

// One transformer block: an attention block (standard or MLA) then an FFN block (dense or
// mixture of experts), both pre-norm residual.
struct LayerWeights {
    bool is_mla = false;
    bool is_moe = false;
    AttentionWeights attn;
    MlaWeights mla;
    DenseFfnWeights ffn;
    MoeFfnWeights moe;
};

class Model {
public:
    // Loads and validates; throws hearth::Error naming the file on any problem
    // (unsupported architecture: the message lists the supported ones).
    static std::unique_ptr<Model> load(const std::string& path);
    ~Model();

    const HParams& hparams() const { return hp_; }
    const ArchSpec& arch() const { return *spec_; }
    const format::GGUFFile& file() const { return *file_; }
    const tokenizer::Tokenizer& tokenizer() const { return *tok_; }

    // A cache sized for n_ctx positions of this model.
    KVCache make_cache(int64_t n_ctx, DType type = DType::F16) const;

    // Runs n tokens at positions cache.n_past() .. +n-1, appends their keys/values to the
    // cache and advances it. Writes logits (n_vocab floats per row) for every token when
    // all_logits, else for the last one only. Throws if the context would overflow.
    // A thin wrapper over forward_batch with one chunk and a thread-local scratch arena.
    void forward(ThreadPool& pool, KVCache& cache, const int32_t* tokens, int64_t n, float* logits,
                 bool all_logits) const;

    // Several sequences in one pass (continuous batching): every weight matrix is applied
    // once to the rows of all chunks, attention runs per sequence against its own cache.
    // Each cache advances by its chunk's n. Logits rows (n_vocab floats each) are written in
    // chunk order: n rows for Logits::kAll, 1 for kLast, none for kNone; returns their count.
    // Everything is checked before any cache is touched: a bad chunk (no cache, a cache used
    // twice, a full context, an out-of-vocabulary token, a cache of another shape) throws
    // hearth::Error naming the chunk and leaves every cache as it was.
    // With Output::kHidden the same rows hold the final-norm hidden state instead (n_embd floats).
    // A batch of more than rows_per_pass() rows runs as consecutive passes of at most that many
    // rows (a sequence split across passes attends to its earlier rows through its cache), so
    // the scratch memory of a call is bounded whatever the caller's batch; the rows written are
    // the same as one pass would write, up to float rounding.
    int64_t forward_batch(ThreadPool& pool, std::span<const SeqChunk> chunks, float* logits,
                          ScratchArena& scratch, Output out = Output::kLogits) const;

    // Rows (tokens of all sequences) one pass runs at most: llama.cpp's "ubatch". The default
    // (auto_rows_per_pass) keeps a pass's scratch within 1/256 of the weights' bytes, between
    // a floor and 512: 64 rows for dense models (32 measured 7-12% slower prefill than 512 on
    // the default model, 64 level with it), 16 x experts / experts per token for MoE models
    // (about 16 tokens per expert). Set it before the model is shared between threads; 0
    // restores the default.
    int64_t rows_per_pass() const { return rows_per_pass_; }
    void set_rows_per_pass(int64_t rows);
    int64_t auto_rows_per_pass() const;
    // Scratch bytes one row of a pass needs at its widest block (residual row included).
    int64_t scratch_bytes_per_row() const;

    uint64_t n_params() const;
    // Parameters one token touches: all but the unchosen routed experts and the skipped
    // multi-token-prediction blocks (== n_params() for dense models without MTP blocks).
    uint64_t n_active_params() const;

private:
    Model() = default;
    void load_weights();
    int64_t forward_pass(ThreadPool& pool, std::span<const SeqChunk> chunks, int64_t n, int64_t n_out, float* logits,
                         ScratchArena& scratch, Output out) const;
    void load_attention(TensorBinder& tb, const std::string& p, LayerWeights& L) const;
    void load_ffn(TensorBinder& tb, const std::string& p, int64_t layer, LayerWeights& L) const;

    std::unique_ptr<format::GGUFFile> file_;
    const ArchSpec* spec_ = nullptr;
    HParams hp_;
    std::unique_ptr<tokenizer::Tokenizer> tok_;
    backend::cpu::Weight tok_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<float> rope_freqs_;  // Llama-3 rope frequency factors (file) or YaRN's (computed)
    std::vector<LayerWeights> layers_;
    int64_t rows_per_pass_ = 512;
};

}  // namespace hearth::model
