// ModelWorker with a tiny fixture model: prompts through the fallback chat template, the
// context check, generation through the queue, concurrent jobs (continuous batching),
// cancellation (before and during generation, freeing the slot), deadlines and the bounded queue.
#include <gtest/gtest.h>

#include <thread>

#include "model/model.h"
#include "server/metrics.h"
#include "server/model_worker.h"

using namespace hearth::server;

namespace {

std::unique_ptr<ModelWorker> tiny_worker(Metrics* metrics, size_t max_queue = 4, int64_t max_sequences = 4,
                                         double timeout_s = 0, int64_t n_ctx = 128) {
    auto m = hearth::model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf");
    WorkerOptions o;
    o.threads = 1;
    o.session.n_ctx = n_ctx;
    o.max_queue = max_queue;
    o.max_sequences = max_sequences;
    o.request_timeout_s = timeout_s;
    return std::make_unique<ModelWorker>("tiny", "qwen2-f32.gguf", std::move(m), o, metrics);
}

std::shared_ptr<Job> job_for(const ModelWorker& w, const CompletionRequest& r) {
    auto j = std::make_shared<Job>();
    j->prompt = w.prompt_tokens(r);
    j->gen = r.gen;
    j->channel = std::make_shared<RequestChannel>();
    return j;
}

}  // namespace

TEST(ServerWorker, FallbackTemplateAndGeneration) {
    Metrics metrics;
    auto w = tiny_worker(&metrics);
    EXPECT_FALSE(w->has_own_template());
    EXPECT_EQ(w->n_ctx(), 128);
    auto r = parse_chat_request(
        R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":8,"temperature":0})");
    auto j = job_for(*w, r);
    // "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n" in a byte-level vocabulary.
    EXPECT_GT(j->prompt.size(), 20u);
    ASSERT_EQ(w->submit(j), ModelWorker::Submit::Ok);
    ASSERT_TRUE(j->channel->wait_done()) << j->channel->error();
    const auto& g = j->channel->result();
    EXPECT_EQ(g.n_prompt, static_cast<int64_t>(j->prompt.size()));
    EXPECT_LE(g.tokens.size(), 8u);
    // Same request again (temperature 0): same text.
    auto j2 = job_for(*w, r);
    ASSERT_EQ(w->submit(j2), ModelWorker::Submit::Ok);
    ASSERT_TRUE(j2->channel->wait_done());
    EXPECT_EQ(j2->channel->result().text, g.text);
    EXPECT_NE(metrics.render({}).find("hearth_completion_tokens_total{model=\"tiny\"}"), std::string::npos);
}

TEST(ServerWorker, PromptOverContextIs400) {
    Metrics metrics;
    auto w = tiny_worker(&metrics);
    std::string big(400, 'x');
    auto r = parse_completion_request(R"({"model":"tiny","prompt":")" + big + R"("})");
    try {
        w->prompt_tokens(r);
        FAIL() << "no error";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status, 400);
        EXPECT_EQ(e.code, "context_length_exceeded");
    }
    auto bad = parse_completion_request(R"({"model":"tiny","prompt":[1,99999]})");
    EXPECT_THROW(w->prompt_tokens(bad), ApiError);
}

TEST(ServerWorker, CancelStopsGeneration) {
    Metrics metrics;
    auto w = tiny_worker(&metrics);
    auto r = parse_completion_request(R"({"model":"tiny","prompt":"abc","max_tokens":100,"temperature":0})");
    auto j = job_for(*w, r);
    j->gen.ignore_eos = true;
    j->channel->cancel();
    ASSERT_EQ(w->submit(j), ModelWorker::Submit::Ok);
    j->channel->wait_done();
    // Cancelled before it ran, or stopped at the first piece of text.
    EXPECT_LE(j->channel->result().tokens.size(), 4u);
}

TEST(ServerWorker, QueueIsBounded) {
    Metrics metrics;
    auto w = tiny_worker(&metrics, /*max_queue=*/1, /*max_sequences=*/1);
    auto r = parse_completion_request(R"({"model":"tiny","prompt":"abc","temperature":0})");
    auto a = job_for(*w, r);
    a->gen.max_tokens = 0;  // the whole context
    a->gen.ignore_eos = true;
    ASSERT_EQ(w->submit(a), ModelWorker::Submit::Ok);
    for (int i = 0; i < 2000 && w->running() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto b = job_for(*w, r);
    auto c = job_for(*w, r);
    auto rb = w->submit(b);
    auto rc = w->submit(c);
    std::string ignored;
    const bool a_done = a->channel->wait(ignored, std::chrono::milliseconds(0));
    a->channel->cancel();
    if (a_done) GTEST_SKIP() << "the first job finished before the queue could be filled";
    EXPECT_EQ(rb, ModelWorker::Submit::Ok);
    EXPECT_EQ(rc, ModelWorker::Submit::QueueFull);
    b->channel->wait_done();
    w->stop();
    EXPECT_EQ(w->submit(c), ModelWorker::Submit::Stopped);
}

// Jobs submitted together run together and each gets what it gets alone.
TEST(ServerWorker, ConcurrentJobsMatchSequential) {
    Metrics metrics;
    auto w = tiny_worker(&metrics, 8, 3);
    const char* prompts[] = {"first prompt", "a second, longer prompt for the model", "3", "the fourth waits for a slot"};
    std::vector<std::string> alone;
    for (const char* p : prompts) {
        auto r = parse_completion_request(std::string(R"({"model":"tiny","max_tokens":12,"temperature":0,"prompt":")") + p +
                                          "\"}");
        auto j = job_for(*w, r);
        j->gen.ignore_eos = true;
        ASSERT_EQ(w->submit(j), ModelWorker::Submit::Ok);
        ASSERT_TRUE(j->channel->wait_done()) << j->channel->error();
        alone.push_back(j->channel->result().text);
    }
    std::vector<std::shared_ptr<Job>> jobs;
    for (const char* p : prompts) {
        auto r = parse_completion_request(std::string(R"({"model":"tiny","max_tokens":12,"temperature":0,"prompt":")") + p +
                                          "\"}");
        jobs.push_back(job_for(*w, r));
        jobs.back()->gen.ignore_eos = true;
    }
    for (auto& j : jobs) ASSERT_EQ(w->submit(j), ModelWorker::Submit::Ok);
    for (size_t i = 0; i < jobs.size(); ++i) {
        std::string streamed;
        while (!jobs[i]->channel->wait(streamed, std::chrono::milliseconds(50))) {
        }
        EXPECT_EQ(jobs[i]->channel->error(), "");
        EXPECT_EQ(jobs[i]->channel->result().text, alone[i]) << prompts[i];
        EXPECT_EQ(jobs[i]->channel->result().tokens.size(), 12u);
    }
}

// A client going away mid-generation (non-streaming: only the channel is cancelled) stops
// its sequence, and the slot serves the next job.
TEST(ServerWorker, CancelDuringGenerationFreesTheSlot) {
    Metrics metrics;
    // The model's whole trained context, so that a test thread woken late on a loaded machine
    // still cancels long before the context is full.
    auto w = tiny_worker(&metrics, 4, 1, 0, 256);
    auto r = parse_completion_request(R"({"model":"tiny","prompt":"abc","temperature":0})");
    auto a = job_for(*w, r);
    a->gen.max_tokens = 0;  // the whole context
    a->gen.ignore_eos = true;
    ASSERT_EQ(w->submit(a), ModelWorker::Submit::Ok);
    std::string text;
    for (int i = 0; i < 5000 && text.empty(); ++i) a->channel->wait(text, std::chrono::milliseconds(1));
    ASSERT_FALSE(text.empty()) << "no text arrived";
    a->channel->cancel();
    ASSERT_TRUE(a->channel->wait_done());
    // Stopped by the cancel, not by the end of the context ("length").
    EXPECT_EQ(a->channel->result().finish_reason, "cancelled");
    EXPECT_LT(a->channel->result().tokens.size() + a->prompt.size(), 256u);
    auto b = job_for(*w, parse_completion_request(R"({"model":"tiny","prompt":"abc","max_tokens":5,"temperature":0})"));
    b->gen.ignore_eos = true;
    ASSERT_EQ(w->submit(b), ModelWorker::Submit::Ok);
    ASSERT_TRUE(b->channel->wait_done());
    EXPECT_EQ(b->channel->result().tokens.size(), 5u);
    EXPECT_NE(metrics.render({}).find("hearth_requests_cancelled_total{model=\"tiny\"} 1"), std::string::npos)
        << metrics.render({});
}

// --request-timeout: a job past its deadline ends with finish_reason "deadline" (reported
// to clients as "length") and the text so far.
TEST(ServerWorker, RequestTimeoutEndsGeneration) {
    Metrics metrics;
    auto w = tiny_worker(&metrics, 4, 2, /*timeout_s=*/0.05);
    auto j = job_for(*w, parse_completion_request(R"({"model":"tiny","prompt":"abc","temperature":0})"));
    j->gen.max_tokens = 0;
    j->gen.ignore_eos = true;
    j->received = std::chrono::steady_clock::now() - std::chrono::seconds(1);  // already over time
    ASSERT_EQ(w->submit(j), ModelWorker::Submit::Ok);
    ASSERT_TRUE(j->channel->wait_done());
    EXPECT_EQ(j->channel->result().finish_reason, "deadline");
    EXPECT_TRUE(j->channel->result().tokens.empty());
    EXPECT_EQ(finish_reason(j->channel->result().finish_reason), "length");
}
