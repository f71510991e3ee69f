// Logprobs (engine/logprobs.h and their path through GenerationState, the scheduler and the
// API): log-sum-exp and top-k against a direct full-sort computation; each generated token's
// logprob against log_softmax of logits recomputed independently with Model::forward; the API's
// parsing of logprobs/top_logprobs/n and the JSON shapes. Also the scheduler's sharing of a
// prompt between sibling sequences (n > 1): same output as alone, prompt computed once.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/thread_pool.h"
#include "engine/batch_scheduler.h"
#include "engine/logprobs.h"
#include "engine/session.h"
#include "model/model.h"
#include "server/api.h"
#include "tokenizer/tokenizer.h"

using namespace hearth;

namespace {

std::vector<float> random_logits(size_t n, uint64_t seed, float scale, float shift) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng) + shift;
    return v;
}

long double direct_lse(const std::vector<float>& v) {
    // Straightforward, in long double, with the same max shift only to stay finite.
    long double mx = *std::max_element(v.begin(), v.end()), s = 0;
    for (float x : v) s += std::exp(static_cast<long double>(x) - mx);
    return mx + std::log(s);
}

}  // namespace

TEST(Logprobs, LogSumExpIsStableAndExact) {
    for (float shift : {0.0f, 80.0f, 1000.0f, -1000.0f}) {
        const auto v = random_logits(151936, 7, 3.0f, shift);
        const double got = engine::log_sum_exp(v.data(), static_cast<int64_t>(v.size()));
        ASSERT_TRUE(std::isfinite(got)) << shift;
        EXPECT_NEAR(got, static_cast<double>(direct_lse(v)), 1e-6 * std::max(1.0, std::abs(got))) << shift;
    }
    // The probabilities it implies sum to 1.
    const auto v = random_logits(1000, 3, 5.0f, 0.0f);
    const double lse = engine::log_sum_exp(v.data(), 1000);
    double total = 0;
    for (float x : v) total += std::exp(x - lse);
    EXPECT_NEAR(total, 1.0, 1e-9);
}

TEST(Logprobs, TopLogitsEqualAFullSort) {
    auto v = random_logits(5000, 11, 2.0f, 0.0f);
    v[17] = v[4000] = v[123] = 50.0f;  // a three-way tie at the top: lower ids first
    std::vector<int32_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return v[a] > v[b]; });
    std::vector<engine::TopLogprob> top;
    for (int k : {0, 1, 3, 5, 20}) {
        engine::top_logits(v.data(), static_cast<int64_t>(v.size()), k, top);
        ASSERT_EQ(top.size(), static_cast<size_t>(k));
        for (int i = 0; i < k; ++i) {
            EXPECT_EQ(top[i].id, order[i]) << "k=" << k << " i=" << i;
            EXPECT_EQ(top[i].logprob, v[order[i]]);
        }
    }
    engine::top_logits(v.data(), 4, 20, top);  // k larger than the vocabulary
    EXPECT_EQ(top.size(), 4u);
}

namespace {

std::unique_ptr<model::Model> tiny() { return model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf"); }

struct Outcome {
    bool done = false;
    engine::GenerateResult result;
    std::vector<engine::TokenLogprob> streamed;
};

std::shared_ptr<engine::SequenceRequest> request(std::vector<int32_t> prompt, const engine::GenerateOptions& gen,
                                                 Outcome& o) {
    auto r = std::make_shared<engine::SequenceRequest>();
    r->prompt = std::move(prompt);
    r->gen = gen;
    r->on_logprob = [&o](const engine::TokenLogprob& t) { o.streamed.push_back(t); };
    r->on_done = [&o](engine::GenerateResult res) {
        o.done = true;
        o.result = std::move(res);
    };
    r->on_error = [&o](const std::string& e) { ADD_FAILURE() << e; };
    return r;
}

}  // namespace

// Every generated token's logprob and top-5 equal log_softmax of the logits Model::forward
// gives for the same prefix, computed here from scratch; at temperature 0 the token drawn is
// the top-1; with a temperature the reported distribution is still the raw one.
TEST(Logprobs, GeneratedTokensMatchLogSoftmaxOfTheirLogits) {
    auto m = tiny();
    ThreadPool pool(2);
    engine::SchedulerOptions so;
    so.max_sequences = 2;
    so.n_ctx = 64;
    so.kv_type = DType::F32;
    engine::BatchScheduler sched(*m, pool, so);
    const std::vector<int32_t> prompt = m->tokenizer().encode("Hello world", false, false);
    engine::GenerateOptions greedy;
    greedy.max_tokens = 8;
    greedy.ignore_eos = true;
    greedy.sampling.temperature = 0;
    greedy.top_logprobs = 5;
    engine::GenerateOptions hot = greedy;
    hot.sampling.temperature = 1.5f;
    hot.sampling.top_k = 0;
    hot.sampling.top_p = 1.0f;
    hot.sampling.min_p = 0.0f;
    Outcome a, b;
    sched.add(request(prompt, greedy, a));
    sched.add(request(prompt, hot, b));
    sched.run_until_idle();
    ASSERT_TRUE(a.done && b.done);
    const int64_t V = m->hparams().n_vocab;
    for (Outcome* o : {&a, &b}) {
        const auto& r = o->result;
        ASSERT_EQ(r.logprobs.size(), r.tokens.size());
        ASSERT_EQ(o->streamed.size(), r.tokens.size());  // streamed as drawn, the same entries
        std::vector<int32_t> seq = prompt;
        for (size_t i = 0; i < r.tokens.size(); ++i) {
            auto cache = m->make_cache(64, DType::F32);
            std::vector<float> logits(static_cast<size_t>(V));
            m->forward(pool, cache, seq.data(), static_cast<int64_t>(seq.size()), logits.data(), false);
            std::vector<float> lv(logits.begin(), logits.end());
            const long double lse = direct_lse(lv);
            const auto& t = r.logprobs[i];
            EXPECT_EQ(t.id, r.tokens[i]);
            EXPECT_NEAR(t.logprob, static_cast<double>(logits[t.id] - lse), 1e-4);
            EXPECT_EQ(o->streamed[i].id, t.id);
            ASSERT_EQ(t.top.size(), 5u);
            std::vector<int32_t> order(static_cast<size_t>(V));
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return logits[x] > logits[y]; });
            for (size_t k = 0; k < 5; ++k) {
                EXPECT_EQ(t.top[k].id, order[k]);
                EXPECT_NEAR(t.top[k].logprob, static_cast<double>(logits[order[k]] - lse), 1e-4);
                EXPECT_LE(t.top[k].logprob, 0.0f);
                if (k > 0) {
                    EXPECT_GE(t.top[k - 1].logprob, t.top[k].logprob);
                }
            }
            if (o == &a) {
                EXPECT_EQ(t.id, t.top[0].id);
            }
            seq.push_back(r.tokens[i]);
        }
    }
}

TEST(Logprobs, OffMeansNothingRecorded) {
    auto m = tiny();
    ThreadPool pool(1);
    engine::Session s(*m, pool, engine::SessionOptions{64, 256, DType::F32});
    engine::GenerateOptions g;
    g.max_tokens = 4;
    g.ignore_eos = true;
    g.sampling.temperature = 0;
    const auto r = s.generate(m->tokenizer().encode("Hello", false, false), g);
    EXPECT_EQ(r.tokens.size(), 4u);
    EXPECT_TRUE(r.logprobs.empty());
}

// n > 1: sibling requests with one prompt, admitted together, give each exactly what it gives
// alone, and the prompt is computed once: the others copy it from the first one's cache.
TEST(SharedPrompt, SiblingsCopyThePromptAndMatchRunningAlone) {
    auto m = tiny();
    ThreadPool pool(2);
    engine::SchedulerOptions so;
    so.max_sequences = 4;
    so.n_ctx = 96;
    so.n_batch = 8;  // the 30-token prompt takes several steps: siblings wait, then copy
    so.kv_type = DType::F32;
    std::vector<int32_t> prompt;
    for (int i = 0; i < 30; ++i) prompt.push_back((i * 37 + 5) % 320);
    auto opts = [](uint64_t seed) {
        engine::GenerateOptions g;
        g.max_tokens = 10;
        g.ignore_eos = true;
        g.sampling.temperature = 1.0f;
        g.sampling.seed = seed;
        return g;
    };
    std::vector<engine::GenerateResult> solo;
    for (uint64_t i = 0; i < 3; ++i) {
        engine::Session s(*m, pool, engine::SessionOptions{96, 8, DType::F32});
        solo.push_back(s.generate(prompt, opts(100 + i)));
    }
    engine::BatchScheduler sched(*m, pool, so);
    Outcome out[3];
    for (uint64_t i = 0; i < 3; ++i) sched.add(request(prompt, opts(100 + i), out[i]));
    sched.run_until_idle();
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(out[i].done);
        EXPECT_EQ(out[i].result.tokens, solo[static_cast<size_t>(i)].tokens) << i;
    }
    // 30 prompt rows for the first, the last prompt token each for the other two.
    EXPECT_EQ(sched.stats().prompt_tokens, 30 + 2);
    EXPECT_EQ(sched.stats().reused_tokens, 2 * 29);
}

// A sibling whose leader is cancelled before finishing the prompt computes it itself.
TEST(SharedPrompt, FollowerOfACancelledLeaderPrefillsItself) {
    auto m = tiny();
    ThreadPool pool(2);
    engine::SchedulerOptions so;
    so.max_sequences = 2;
    so.n_ctx = 96;
    so.n_batch = 8;
    so.kv_type = DType::F32;
    std::vector<int32_t> prompt;
    for (int i = 0; i < 30; ++i) prompt.push_back((i * 11 + 3) % 320);
    engine::GenerateOptions g;
    g.max_tokens = 6;
    g.ignore_eos = true;
    g.sampling.temperature = 0;
    engine::Session s(*m, pool, engine::SessionOptions{96, 8, DType::F32});
    const auto want = s.generate(prompt, g).tokens;
    engine::BatchScheduler sched(*m, pool, so);
    Outcome lead, follow;
    bool cancel = false;
    auto lr = request(prompt, g, lead);
    lr->cancelled = [&cancel] { return cancel; };
    sched.add(lr);
    sched.add(request(prompt, g, follow));
    sched.step();  // the leader has 8 of 30 prompt tokens
    cancel = true;
    sched.run_until_idle();
    ASSERT_TRUE(lead.done && follow.done);
    EXPECT_EQ(lead.result.finish_reason, "cancelled");
    EXPECT_EQ(follow.result.tokens, want);
}

namespace api = server;

TEST(LogprobsApi, ParsesChatAndCompletionForms) {
    auto r = api::parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
    EXPECT_EQ(r.gen.top_logprobs, -1);
    EXPECT_EQ(r.n, 1);
    r = api::parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true})");
    EXPECT_EQ(r.gen.top_logprobs, 0);
    r = api::parse_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":20,"n":16})");
    EXPECT_EQ(r.gen.top_logprobs, 20);
    EXPECT_EQ(r.n, 16);
    r = api::parse_completion_request(R"({"model":"m","prompt":"x","logprobs":3,"n":2})");
    EXPECT_EQ(r.gen.top_logprobs, 3);
    EXPECT_EQ(r.n, 2);
    auto param_of = [](const char* body, bool chat) {
        try {
            if (chat)
                api::parse_chat_request(body);
            else
                api::parse_completion_request(body);
        } catch (const api::ApiError& e) {
            EXPECT_EQ(e.status, 400);
            return e.param;
        }
        return std::string("accepted");
    };
    const char* msgs = R"("messages":[{"role":"user","content":"hi"}])";
    EXPECT_EQ(param_of((std::string(R"({"model":"m",)") + msgs + R"(,"top_logprobs":2})").c_str(), true), "top_logprobs");
    EXPECT_EQ(param_of((std::string(R"({"model":"m",)") + msgs + R"(,"logprobs":true,"top_logprobs":21})").c_str(), true),
              "top_logprobs");
    EXPECT_EQ(param_of((std::string(R"({"model":"m",)") + msgs + R"(,"logprobs":1})").c_str(), true), "logprobs");
    EXPECT_EQ(param_of((std::string(R"({"model":"m",)") + msgs + R"(,"n":17})").c_str(), true), "n");
    EXPECT_EQ(param_of((std::string(R"({"model":"m",)") + msgs + R"(,"n":0})").c_str(), true), "n");
    EXPECT_EQ(param_of(R"({"model":"m","prompt":"x","logprobs":true})", false), "logprobs");
    EXPECT_EQ(param_of(R"({"model":"m","prompt":"x","logprobs":21})", false), "logprobs");
}

TEST(LogprobsApi, JsonShapes) {
    auto m = tiny();
    const auto& tok = m->tokenizer();
    const auto ids = tok.encode("Hello world", false, false);
    ASSERT_GE(ids.size(), 2u);
    std::vector<engine::TokenLogprob> lp;
    for (int32_t id : ids) lp.push_back({id, -0.5f, {{id, -0.5f}, {7, -1.5f}}});
    const auto chat = api::chat_logprobs(tok, lp);
    ASSERT_EQ(chat["content"].size(), ids.size());
    std::string joined;
    for (const auto& c : chat["content"]) {
        joined += c["token"].get<std::string>();
        EXPECT_EQ(c["logprob"], -0.5);
        EXPECT_EQ(c["top_logprobs"].size(), 2u);
        EXPECT_EQ(c["bytes"].size(), c["token"].get<std::string>().size());
    }
    EXPECT_EQ(joined, "Hello world");
    int64_t offset = 0;
    const auto legacy = api::completion_logprobs(tok, lp, offset);
    EXPECT_EQ(offset, 11);
    EXPECT_EQ(legacy["tokens"].size(), ids.size());
    EXPECT_EQ(legacy["text_offset"][0], 0);
    EXPECT_EQ(legacy["top_logprobs"][0].size(), 2u);
    EXPECT_EQ(legacy["token_logprobs"][1], -0.5);
}
