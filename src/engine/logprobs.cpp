#include "engine/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hearth::engine {

double log_sum_exp(const float* logits, int64_t n) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, logits[i]);
    if (!std::isfinite(mx)) return mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
    return mx + std::log(sum);
}

void top_logits(const float* logits, int64_t n, int k, std::vector<TopLogprob>& out) {
    out.clear();
    if (k <= 0 || n <= 0) return;
    const size_t want = static_cast<size_t>(std::min<int64_t>(k, n));
    // "a ranks before b": higher logit, or the same logit and a lower id.
    auto before = [](const TopLogprob& a, const TopLogprob& b) {
        return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id);
    };
    // With `before` as the heap's "less", the heap's front is the worst entry kept so far.
    out.reserve(want);
    for (int64_t i = 0; i < n; ++i) {
        const TopLogprob c{static_cast<int32_t>(i), logits[i]};
        if (out.size() < want) {
            out.push_back(c);
            std::push_heap(out.begin(), out.end(), before);
        } else if (before(c, out.front())) {
            std::pop_heap(out.begin(), out.end(), before);
            out.back() = c;
            std::push_heap(out.begin(), out.end(), before);
        }
    }
    std::sort_heap(out.begin(), out.end(), before);
}

}  // namespace hearth::engine
