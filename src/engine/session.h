#pragma once
// One sequence being generated: its KV cache, its tokens so far, and the loop that feeds
// a prompt and draws tokens. The CLI, the server and the audit runner all generate
// through this type, so limits and stop rules behave the same everywhere.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/logprobs.h"
#include "engine/sampler.h"
#include "model/kv_cache.h"
#include "model/scratch_arena.h"

namespace hearth {
class ThreadPool;
namespace model {
class Model;
}
}  // namespace hearth

namespace hearth::engine {

struct SessionOptions {
    int64_t n_ctx = 4096;      // clipped to the model's trained context
    int64_t n_batch = 256;     // prompt tokens per forward pass
    DType kv_type = DType::F16;
};

// The context a sequence gets: n_ctx, or the model's trained context when n_ctx is <= 0 or
// larger than it.
int64_t clip_ctx(const model::Model& m, int64_t n_ctx);

struct GenerateOptions {
    int64_t max_tokens = 256;
    SamplingParams sampling;
    std::vector<std::string> stop;  // stop strings (not included in the output)
    bool ignore_eos = false;
    // Also run the last generated token through the model, so the cache holds the whole
    // transcript (a conversation continues from it); costs one forward pass.
    bool commit_last = false;
    // Optional: restricts the tokens drawn (not owned; must outlive generate()).
    TokenConstraint* constraint = nullptr;
    // >= 0: record each generated token's logprob and this many alternatives (engine/logprobs.h);
    // -1: off, and then nothing is computed or stored per token.
    int top_logprobs = -1;
};

struct GenerateResult {
    std::vector<int32_t> tokens;  // generated ids
    std::vector<TokenLogprob> logprobs;  // one per token when GenerateOptions::top_logprobs >= 0
    std::string text;
    // "stop" (EOS or stop string), "length", "context"; "cancelled" when on_text refused text
    // (or the client went away); "deadline" when the batch scheduler stopped it at its deadline.
    std::string finish_reason;
    int64_t n_prompt = 0;
    double prefill_seconds = 0;
    double decode_seconds = 0;
};

class Session {
public:
    Session(const model::Model& m, ThreadPool& pool, const SessionOptions& opt);

    int64_t n_ctx() const { return cache_.n_ctx(); }
    int64_t n_past() const { return cache_.n_past(); }
    const std::vector<int32_t>& history() const { return history_; }
    const model::KVCache& cache() const { return cache_; }
    void reset();

    // Feeds tokens (in chunks of n_batch) and returns the logits after the last one. decode:
    // the tokens were sampled from this session's logits (see model::SeqChunk::decode).
    const std::vector<float>& feed(const std::vector<int32_t>& tokens, bool decode = false);

    // Feeds the prompt, then samples until EOS, a stop string, max_tokens or a full context.
    // on_text receives each newly decoded piece of valid UTF-8; returning false stops early.
    GenerateResult generate(const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                            const std::function<bool(const std::string&)>& on_text = {});

private:
    const model::Model& model_;
    ThreadPool& pool_;
    SessionOptions opt_;
    model::KVCache cache_;
    std::vector<int32_t> history_;
    std::vector<float> logits_;
    model::ScratchArena scratch_;
};

}  // namespace hearth::engine
