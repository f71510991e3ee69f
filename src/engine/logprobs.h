#pragma once
// Log-probabilities of generated tokens, as OpenAI's `logprobs` reports them: the model's own
// distribution, log_softmax of the raw logits (before penalties, temperature, top-k/top-p and
// any grammar or JSON-schema mask), for the token drawn and the top_n most likely tokens.
#include <cstdint>
#include <vector>

namespace hearth::engine {

struct TopLogprob {
    int32_t id = 0;
    float logprob = 0.0f;
};

struct TokenLogprob {
    int32_t id = 0;           // the token generated
    float logprob = 0.0f;     // its log-probability
    std::vector<TopLogprob> top;  // the top_n most likely tokens, most likely first
};

// log(sum(exp(logits))), computed against the maximum so that no term overflows.
double log_sum_exp(const float* logits, int64_t n);

// The k largest logits, largest first, lower id first among equals (the order greedy picks
// in); `logprob` holds the raw logit. One pass with a k-sized heap: O(n log k), no sort of n.
void top_logits(const float* logits, int64_t n, int k, std::vector<TopLogprob>& out);

}  // namespace hearth::engine
