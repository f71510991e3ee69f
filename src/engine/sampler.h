#pragma once
// Picks the next token from logits. The chain follows llama.cpp's default order
// (penalties, top-k, top-p, min-p, temperature, then a seeded draw) so that settings mean
// the same thing in hearth as in the tools people compare it with.
#include <cstdint>
#include <random>
#include <vector>

namespace hearth::engine {

struct SamplingParams {
    float temperature = 0.8f;  // <= 0: greedy
    int32_t top_k = 40;        // <= 0: off
    float top_p = 0.95f;       // >= 1: off
    float min_p = 0.05f;       // <= 0: off
    float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
    int32_t repeat_last_n = 64;   // how many recent tokens the penalties look at (-1: all)
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    uint64_t seed = 0xC0FFEE;

    bool greedy() const { return temperature <= 0.0f; }
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& p);
    // history: tokens so far (prompt and generated), for the penalties.
    int32_t sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history);
    const SamplingParams& params() const { return p_; }

private:
    struct Candidate {
        int32_t id;
        float logit;
        float p;
    };
    SamplingParams p_;
    std::mt19937_64 rng_;
    std::vector<Candidate> cand_;
};

// A rule on which tokens may come next (structured output: a JSON schema, a grammar).
// The session asks allows() about the token it sampled; when that is refused it calls mask()
// (every token mask() leaves finite must pass allows()) and samples again from the masked
// logits. accept() tells it each token taken. tokens_left counts this token too.
class TokenConstraint {
public:
    virtual ~TokenConstraint() = default;
    virtual bool allows(int32_t id, int64_t tokens_left) = 0;
    virtual void mask(float* logits, int64_t n_vocab, int64_t tokens_left) = 0;
    virtual void accept(int32_t id) = 0;
};

// Index of the largest logit (lowest index on ties).
int32_t argmax(const float* logits, int64_t n);

}  // namespace hearth::engine
