#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "core/error.h"
#include "engine/sampler.h"

using hearth::engine::Sampler;
using hearth::engine::SamplingParams;

namespace {

std::vector<float> random_logits(size_t n, uint64_t seed) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::normal_distribution<float> d(0.0f, 2.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

SamplingParams plain(float temp) {
    SamplingParams p;
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

}  // namespace

TEST(Sampler, GreedyIsArgmax) {
    for (uint64_t s = 0; s < 20; ++s) {
        auto l = random_logits(1000, s);
        Sampler sm(plain(0.0f));
        EXPECT_EQ(sm.sample(l.data(), 1000, {}), hearth::engine::argmax(l.data(), 1000));
    }
}

TEST(Sampler, TopKOneIsArgmaxAtAnyTemperature) {
    auto l = random_logits(500, 7);
    SamplingParams p = plain(5.0f);
    p.top_k = 1;
    Sampler sm(p);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(sm.sample(l.data(), 500, {}), hearth::engine::argmax(l.data(), 500));
}

TEST(Sampler, SameSeedSameDraws) {
    auto l = random_logits(300, 3);
    Sampler a(plain(1.0f)), b(plain(1.0f));
    for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(l.data(), 300, {}), b.sample(l.data(), 300, {}));
}

// With no truncation, empirical frequencies must follow softmax(logits / T).
TEST(Sampler, FrequenciesFollowSoftmax) {
    std::vector<float> l = {1.0f, 0.0f, -1.0f, 2.0f};
    const float T = 0.7f;
    std::vector<double> p(4);
    double z = 0;
    for (int i = 0; i < 4; ++i) z += std::exp(l[i] / T);
    for (int i = 0; i < 4; ++i) p[i] = std::exp(l[i] / T) / z;
    Sampler sm(plain(T));
    const int N = 40000;
    std::vector<int> c(4);
    for (int i = 0; i < N; ++i) c[sm.sample(l.data(), 4, {})]++;
    for (int i = 0; i < 4; ++i) {
        double sd = std::sqrt(p[i] * (1 - p[i]) / N);
        EXPECT_NEAR(c[i] / double(N), p[i], 5 * sd) << "token " << i;
    }
}

TEST(Sampler, TopPKeepsSmallestNucleus) {
    // probabilities ~ 0.64, 0.24, 0.09, 0.03: top_p 0.7 keeps the first two only.
    std::vector<float> l = {3.0f, 2.0f, 1.0f, 0.0f};
    SamplingParams p = plain(1.0f);
    p.top_p = 0.7f;
    Sampler sm(p);
    std::map<int, int> seen;
    for (int i = 0; i < 3000; ++i) seen[sm.sample(l.data(), 4, {})]++;
    EXPECT_GT(seen[0], 0);
    EXPECT_GT(seen[1], 0);
    EXPECT_EQ(seen.count(2), 0u);
    EXPECT_EQ(seen.count(3), 0u);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
    std::vector<float> l = {5.0f, 4.5f, 0.0f, -1.0f};
    SamplingParams p = plain(1.0f);
    p.min_p = 0.1f;  // tokens 2 and 3 are < 1% of the top one
    Sampler sm(p);
    for (int i = 0; i < 2000; ++i) EXPECT_LT(sm.sample(l.data(), 4, {}), 2);
}

TEST(Sampler, RepeatPenaltyMovesGreedyChoice) {
    std::vector<float> l = {2.0f, 1.9f, -5.0f};
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 1.2f;  // 2.0/1.2 = 1.67 < 1.9
    Sampler sm(p);
    EXPECT_EQ(sm.sample(l.data(), 3, {0}), 1);
    EXPECT_EQ(sm.sample(l.data(), 3, {2}), 0);
}

TEST(Sampler, FrequencyAndPresencePenalties) {
    std::vector<float> l = {2.0f, 1.5f};
    SamplingParams p = plain(0.0f);
    p.frequency_penalty = 0.2f;  // token 0 seen 3 times: 2.0 - 0.6 = 1.4 < 1.5
    Sampler a(p);
    EXPECT_EQ(a.sample(l.data(), 2, {0, 0, 0}), 1);
    EXPECT_EQ(a.sample(l.data(), 2, {0, 0}), 0);  // 2.0 - 0.4 = 1.6 > 1.5
    SamplingParams q = plain(0.0f);
    q.presence_penalty = 0.6f;
    Sampler b(q);
    EXPECT_EQ(b.sample(l.data(), 2, {0}), 1);
}

TEST(Sampler, RejectsNonsenseParameters) {
    SamplingParams p = plain(1.0f);
    p.top_p = 0.0f;
    EXPECT_THROW(Sampler{p}, hearth::Error);
}
