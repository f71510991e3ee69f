#pragma once
// Continuous batching: many sequences share every forward pass.
//
// The scheduler owns max_sequences slots, each a KV cache of n_ctx positions (memory:
// max_sequences x n_ctx x the model's KV bytes per token, allocated up front). A request
// is admitted into a free slot and is then "active" until it finishes. Each step() builds
// one batch from every active sequence: one decode token from each sequence that is
// generating, plus prompt tokens of sequences still prefilling, at most n_batch of them
// per step, oldest admission first (so a long prompt is fed over several steps while the
// others keep decoding). One Model::forward_batch call runs the whole batch; then each
// sequence that produced logits samples its next token with its own sampler, stop strings,
// max_tokens and constraint (GenerationState, as Session does), streams released text to
// its on_text, and finished sequences are retired, which frees their slot.
//
// Prefix reuse: a finished sequence's cache stays in its slot with the tokens it holds.
// A new request goes to the free slot whose cached tokens share the longest head with its
// prompt, and only the rest of the prompt is computed (at least the last prompt token is
// always recomputed, for its logits). Positions are a function of the tokens before them
// only, so the result is the same as with no reuse. A request whose prompt head is held or
// being computed by an active sequence (n > 1 choices of one request are the common case)
// copies those positions from that sequence's cache instead: at once when they are there,
// else once its prefill has passed them, waiting meanwhile; if that sequence ends first
// without them, it prefills on its own.
//
// Cancellation and deadlines are checked before every step: a request whose cancelled()
// says so, or whose on_text refused text, ends with finish_reason "cancelled"; one past its
// deadline ends with finish_reason "deadline" and the text it had so far. Both reach on_done.
//
// Not thread-safe: one thread (the model's worker) calls everything, and every callback
// runs on that thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/session.h"
#include "model/kv_cache.h"
#include "model/scratch_arena.h"

namespace hearth {
class ThreadPool;
namespace model {
class Model;
}
}  // namespace hearth

namespace hearth::engine {

class GenerationState;

struct SequenceRequest {
    std::vector<int32_t> prompt;
    GenerateOptions gen;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::function<bool(const std::string&)> on_text;  // false: stop (the client went away)
    std::function<void(const TokenLogprob&)> on_logprob;  // when gen.top_logprobs >= 0; may be empty
    std::function<bool()> cancelled;                  // polled before every step; may be empty
    // Exactly one of these is called, once.
    std::function<void(GenerateResult)> on_done;
    std::function<void(const std::string&)> on_error;
};

struct SchedulerOptions {
    int64_t max_sequences = 4;
    int64_t n_ctx = 4096;    // per sequence; clipped to the model's trained context
    int64_t n_batch = 256;   // prompt tokens per step, all sequences together
    DType kv_type = DType::F16;
    bool prefix_reuse = true;
};

struct SchedulerStats {
    int64_t steps = 0;
    int64_t decode_tokens = 0;   // rows that were a sequence's previous sampled token
    int64_t prompt_tokens = 0;   // prompt rows computed
    int64_t reused_tokens = 0;   // prompt positions taken from a slot's cache instead
    int64_t max_batch_rows = 0;  // the largest batch so far
    int64_t max_batch_seqs = 0;  // most sequences in one batch so far
    int64_t mixed_steps = 0;     // steps that carried decode rows and prompt rows together
};

class BatchScheduler {
public:
    BatchScheduler(const model::Model& m, ThreadPool& pool, const SchedulerOptions& opt);
    ~BatchScheduler();
    BatchScheduler(const BatchScheduler&) = delete;
    BatchScheduler& operator=(const BatchScheduler&) = delete;

    int64_t n_ctx() const { return n_ctx_; }
    int64_t max_sequences() const { return static_cast<int64_t>(slots_.size()); }
    int64_t n_active() const;
    bool has_free_slot() const { return n_active() < max_sequences(); }
    bool idle() const { return n_active() == 0; }

    // Starts a request in a free slot; throws hearth::Error when there is none. A request
    // that cannot run (empty prompt, longer than the context, a token id outside the
    // vocabulary, no on_done/on_error) is answered at once through on_error.
    void add(std::shared_ptr<SequenceRequest> req);

    // One forward pass over every active sequence, then sampling, streaming and retiring.
    // Does nothing when idle.
    void step();
    void run_until_idle();

    // Ends every active sequence with on_error(message) (shutdown).
    void abort_all(const std::string& message);

    const SchedulerStats& stats() const { return stats_; }
    // The tokens slot i's cache holds (tests).
    const std::vector<int32_t>& slot_tokens(size_t i) const;

private:
    struct Slot;
    void retire(Slot& s);
    void fail(Slot& s, const std::string& message);
    // Copies the head waiting followers need from their leader once it has it (or, when the
    // leader has ended, lets them prefill on their own).
    void release_followers();

    const model::Model& model_;
    ThreadPool& pool_;
    SchedulerOptions opt_;
    int64_t n_ctx_ = 0;
    std::vector<std::unique_ptr<Slot>> slots_;
    uint64_t clock_ = 0;  // admissions and retirements, for FIFO prefill and LRU slot choice
    model::ScratchArena scratch_;
    std::vector<float> logits_;
    SchedulerStats stats_;
};

}  // namespace hearth::engine
