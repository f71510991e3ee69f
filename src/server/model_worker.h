#pragma once
// One served model: its weights, chat template, and the worker thread that runs requests
// against it through an engine::BatchScheduler (continuous batching: up to max_sequences
// requests share every forward pass). Requests wait in a bounded FIFO until a sequence slot
// is free; when the FIFO is full, submit() refuses and the HTTP layer answers 429.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chat/chat_template.h"
#include "engine/batch_scheduler.h"
#include "engine/session.h"
#include "server/api.h"

namespace hearth {
class ThreadPool;
namespace model {
class Model;
}
}  // namespace hearth

namespace hearth::server {

class Metrics;

// The link between the HTTP thread that owns a request and the worker that generates it.
// The worker pushes text pieces and then a result (or an error); the HTTP side waits for
// them and may cancel, which makes the next push() return false and so stops generation.
class RequestChannel {
public:
    bool push(const std::string& piece);  // worker side; false once cancelled
    void finish(engine::GenerateResult r);
    void fail(std::string message);
    void cancel();
    bool cancelled() const { return cancelled_.load(); }

    // HTTP side: waits up to `timeout` for text or the end. Appends new text to `out`;
    // returns true once finished (result() / error() are then valid).
    bool wait(std::string& out, std::chrono::milliseconds timeout);
    bool wait_done();  // blocks until finished; the text goes to result().text
    const engine::GenerateResult& result() const { return result_; }
    const std::string& error() const { return error_; }  // "" on success

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::string pending_;
    bool done_ = false;
    std::atomic<bool> cancelled_{false};
    engine::GenerateResult result_;
    std::string error_;
};

struct Job {
    std::vector<int32_t> prompt;
    engine::GenerateOptions gen;  // max_tokens <= 0: the rest of the context
    std::shared_ptr<engine::TokenConstraint> constraint;  // owns gen.constraint when there is one
    std::shared_ptr<RequestChannel> channel;
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
    // Past this, generation stops with finish_reason "deadline" (the API reports "length")
    // and the text so far. The earlier of this and received + WorkerOptions::request_timeout_s.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct WorkerOptions {
    int threads = 1;
    engine::SessionOptions session;  // n_ctx is per sequence; n_batch bounds prompt tokens per step
    size_t max_queue = 16;           // jobs waiting for a slot (not counting the running ones)
    int64_t max_sequences = 4;       // requests generated together (hearth serve --parallel)
    double request_timeout_s = 0;    // > 0: a deadline for every job, counted from its arrival
};

class ModelWorker {
public:
    ModelWorker(std::string alias, std::string path, std::unique_ptr<model::Model> m, const WorkerOptions& opt,
                Metrics* metrics);
    ~ModelWorker();  // stops the thread; queued jobs fail with "server shutting down"
    ModelWorker(const ModelWorker&) = delete;
    ModelWorker& operator=(const ModelWorker&) = delete;

    const std::string& alias() const { return alias_; }
    const std::string& path() const { return path_; }
    const model::Model& model() const { return *model_; }
    int64_t n_ctx() const { return n_ctx_; }
    bool has_own_template() const { return own_template_; }

    // The request's prompt as tokens: chat messages rendered with the model's template (or
    // a ChatML fallback for files without one), text tokenized. Throws ApiError (400) for a
    // template error, an empty prompt, an out-of-vocabulary id or a prompt that leaves no room
    // in the context.
    std::vector<int32_t> prompt_tokens(const CompletionRequest& r) const;

    enum class Submit { Ok, QueueFull, Stopped };
    Submit submit(std::shared_ptr<Job> job);
    void stop();

    int64_t waiting() const;
    int64_t running() const { return running_.load(); }
    int64_t max_sequences() const { return opt_.max_sequences; }

private:
    void loop();
    void start(std::shared_ptr<Job> job);

    std::string alias_, path_;
    std::unique_ptr<model::Model> model_;
    WorkerOptions opt_;
    Metrics* metrics_;
    std::unique_ptr<chat::ChatTemplate> template_;
    bool own_template_ = false;
    mutable std::mutex template_mu_;
    std::unique_ptr<ThreadPool> pool_;
    std::unique_ptr<engine::BatchScheduler> scheduler_;  // used by the worker thread only
    int64_t n_ctx_ = 0;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool stopping_ = false;
    std::atomic<int64_t> running_{0};
    std::thread thread_;
};

// The template used for models whose file carries none: ChatML markup.
extern const char* const kFallbackChatTemplate;

}  // namespace hearth::server
