#pragma once
// The per-sequence rules of generation, apart from running the model: sample a token from
// the logits (through the constraint, if any), stop at EOS, a stop string, max_tokens or a
// full context, and release decoded text only once it is valid UTF-8 and cannot be the start
// of a stop string. Session (one sequence) and BatchScheduler (many) both drive this type,
// so a request behaves the same in `hearth run`, the audit runner and the server.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "engine/session.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

class GenerationState {
public:
    // on_text receives each released piece of text; returning false cancels the sequence.
    // on_logprob (optional) receives each generated token's logprobs as soon as it is drawn,
    // which may be before its text is released (stop strings, incomplete UTF-8).
    GenerationState(const tokenizer::Tokenizer& tok, const GenerateOptions& opt,
                     std::function<bool(const std::string&)> on_text = {},
                     std::function<void(const TokenLogprob&)> on_logprob = {});

    // After a forward pass: picks the next token from logits (which the constraint may mask
    // in place). history: the tokens in the sequence's cache (prompt and generated so far),
    // for the penalties; n_past / n_ctx: how full that cache is. Returns the token to feed
    // next, or nothing when generation has ended (done() is then true).
    std::optional<int32_t> next(float* logits, int64_t n_vocab, const std::vector<int32_t>& history, int64_t n_past,
                                int64_t n_ctx);

    bool done() const { return done_; }
    bool cancelled() const { return cancelled_; }
    // Stops generation from outside (client gone, deadline); reason becomes the finish reason.
    void stop(const std::string& reason);

    // Emits the text still held back and returns the result (call once, at the end).
    GenerateResult finish();
    GenerateResult& result() { return r_; }

private:
    void emit(const std::string& s);

    const tokenizer::Tokenizer& tok_;
    GenerateOptions opt_;
    std::function<bool(const std::string&)> on_text_;
    std::function<void(const TokenLogprob&)> on_logprob_;
    double lse_ = 0;              // log-sum-exp of the current logits (logprobs on only)
    std::vector<TopLogprob> top_;  // their top entries (logprobs on only)
    Sampler sampler_;
    tokenizer::StreamDecoder dec_;
    size_t max_stop_ = 0;
    std::string held_;  // decoded text not yet emitted because it may begin a stop string
    bool cancelled_ = false;
    bool done_ = false;
    std::string forced_reason_;
    GenerateResult r_;
};

}  // namespace hearth::engine
