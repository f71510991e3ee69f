// ModelWorker with a tiny fixture model: prompts through the fallback chat template, the
// context check, generation through the queue, cancellation and the bounded queue.
#include <gtest/gtest.h>

#include <thread>

#include "model/model.h"
#include "server/metrics.h"
#include "server/model_worker.h"

using namespace hearth::server;

namespace {

std::unique_ptr<ModelWorker> tiny_worker(Metrics* metrics, size_t max_queue = 4) {
    auto m = hearth::model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf");
    WorkerOptions o;
    o.threads = 1;
    o.session.n_ctx = 128;
    o.max_queue = max_queue;
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
    auto w = tiny_worker(&metrics, /*max_queue=*/1);
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
