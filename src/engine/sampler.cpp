#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.h"

namespace hearth::engine {

int32_t argmax(const float* logits, int64_t n) {
    int32_t best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
    return best;
}

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {
    if (p.top_p <= 0.0f) throw Error("top_p must be > 0");
    if (p.repeat_penalty <= 0.0f) throw Error("repeat_penalty must be > 0");
}

int32_t Sampler::sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history) {
    cand_.resize(static_cast<size_t>(n_vocab));
    for (int64_t i = 0; i < n_vocab; ++i) cand_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};

    const bool penalize = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
    if (penalize && !history.empty()) {
        size_t window = p_.repeat_last_n < 0 ? history.size()
                                              : std::min(history.size(), static_cast<size_t>(p_.repeat_last_n));
        std::unordered_map<int32_t, int> counts;
        for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
        for (const auto& [id, c] : counts) {
            if (id < 0 || id >= n_vocab) continue;
            float& l = cand_[static_cast<size_t>(id)].logit;
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
            l -= static_cast<float>(c) * p_.frequency_penalty + p_.presence_penalty;
        }
    }

    if (p_.greedy()) {
        size_t best = 0;
        for (size_t i = 1; i < cand_.size(); ++i)
            if (cand_[i].logit > cand_[best].logit) best = i;
        return cand_[best].id;
    }

    auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; };
    size_t n = cand_.size();
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
        std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
        n = static_cast<size_t>(p_.top_k);
    } else {
        std::sort(cand_.begin(), cand_.end(), by_logit);
    }
    cand_.resize(n);

    auto normalize = [&](float temp) {
        const float mx = cand_[0].logit;
        double sum = 0.0;
        for (auto& c : cand_) {
            c.p = std::exp((c.logit - mx) / temp);
            sum += c.p;
        }
        for (auto& c : cand_) c.p = static_cast<float>(c.p / sum);
    };

    normalize(1.0f);
    if (p_.top_p < 1.0f) {
        double cum = 0.0;
        size_t keep = cand_.size();
        for (size_t i = 0; i < cand_.size(); ++i) {
            cum += cand_[i].p;
            if (cum >= p_.top_p) {
                keep = i + 1;
                break;
            }
        }
        cand_.resize(keep);
    }
    if (p_.min_p > 0.0f) {
        const float floor = cand_[0].p * p_.min_p;
        size_t keep = 1;
        while (keep < cand_.size() && cand_[keep].p >= floor) ++keep;
        cand_.resize(keep);
    }
    normalize(p_.temperature);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double r = u(rng_), cum = 0.0;
    for (const auto& c : cand_) {
        cum += c.p;
        if (r < cum) return c.id;
    }
    return cand_.back().id;
}

}  // namespace hearth::engine
