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
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chat/chat_template.h"
#include "chat/output_parser.h"
#include "engine/batch_scheduler.h"
#include "engine/embedding.h"
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
// A request has n_choices sequences (OpenAI's `n`); each is a Job whose `choice` indexes the
// channel. The worker pushes each choice's text pieces (and, when streaming logprobs, its
// tokens' logprobs) and then its result; an error fails the whole request. The HTTP side
// waits for them and may cancel, which makes the next push() return false and so stops
// generation of every choice.
class RequestChannel {
public:
    explicit RequestChannel(size_t n_choices = 1);
    size_t n_choices() const { return choices_.size(); }

    bool push(const std::string& piece, size_t choice = 0);  // worker side; false once cancelled
    void push_logprob(const engine::TokenLogprob& t, size_t choice = 0);
    void finish(engine::GenerateResult r, size_t choice = 0);
    void fail(std::string message);
    void cancel();
    bool cancelled() const { return cancelled_.load(); }

    // What one choice produced since the last wait(); `finished` is true exactly once, on the
    // wait that hands over its last piece.
    struct Delta {
        std::string text;
        std::vector<engine::TokenLogprob> logprobs;
        bool finished = false;
    };
    // HTTP side: waits up to `timeout` for news and hands it over in `out` (n_choices entries,
    // replaced each call); returns true once every choice has finished or the request failed
    // (result() / error() are then valid).
    bool wait(std::vector<Delta>& out, std::chrono::milliseconds timeout);
    // One-choice form: appends choice 0's new text to `out`.
    bool wait(std::string& out, std::chrono::milliseconds timeout);
    bool wait_done();  // blocks until finished; false on error; the text goes to result(i).text
    const engine::GenerateResult& result(size_t choice = 0) const { return choices_.at(choice).result; }
    const std::string& error() const { return error_; }  // "" on success

private:
    struct Choice {
        std::string pending;
        std::vector<engine::TokenLogprob> pending_logprobs;
        bool done = false;
        bool reported = false;  // its `finished` has been handed over
        engine::GenerateResult result;
    };
    bool all_done() const { return failed_ || n_done_ == choices_.size(); }

    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Choice> choices_;
    size_t n_done_ = 0;
    bool failed_ = false;
    std::atomic<bool> cancelled_{false};
    std::string error_;
};

struct Job {
    std::vector<int32_t> prompt;
    engine::GenerateOptions gen;  // max_tokens <= 0: the rest of the context
    std::shared_ptr<engine::TokenConstraint> constraint;  // owns gen.constraint when there is one
    std::shared_ptr<RequestChannel> channel;
    size_t choice = 0;    // which of the channel's choices this job generates
    bool stream = false;  // push logprobs to the channel as tokens are drawn (gen.top_logprobs >= 0)
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
    // Past this, generation stops with finish_reason "deadline" (the API reports "length")
    // and the text so far. The earlier of this and received + WorkerOptions::request_timeout_s.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// POST /v1/embeddings: token inputs to embed, one per scheduler step (decoding sequences wait
// for one input at a time, not the whole request).
struct EmbedJob {
    std::vector<std::vector<int32_t>> inputs;
    std::promise<std::vector<std::vector<float>>> result;  // hearth::Error on failure
    std::vector<std::vector<float>> done;  // the inputs embedded so far (worker thread only)
};

struct WorkerOptions {
    int threads = 1;
    engine::SessionOptions session;  // n_ctx is per sequence; n_batch bounds prompt tokens per step
    size_t max_queue = 16;           // jobs waiting for a slot (not counting the running ones)
    int64_t max_sequences = 4;       // requests generated together (hearth serve --parallel)
    double request_timeout_s = 0;    // > 0: a deadline for every job, counted from its arrival
    engine::Pooling pooling = engine::Pooling::kMean;  // how /v1/embeddings pools token states
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
    // chat_prompt: where to put the rendered chat prompt text (ChatOutput needs to know whether
    // it opened a reasoning trace).
    std::vector<int32_t> prompt_tokens(const CompletionRequest& r, std::string* chat_prompt = nullptr) const;
    // The reasoning and tool-call markup the chat template uses (chat::detect_output_format).
    chat::OutputFormat output_format() const { return output_format_; }
    // tool_choice "required" or a named function: the grammar that holds generation to this
    // model's tool-call markup (chat::tool_call_grammar); chat_prompt is the rendered prompt.
    // Throws ApiError (400) naming the model when its template writes no call markup hearth
    // knows (the ChatML fallback counts as Hermes/Qwen's, the markup the parser assumes for
    // it), or naming the tool whose parameters schema cannot be compiled.
    std::shared_ptr<const chat::Grammar> tool_call_grammar(const CompletionRequest& r,
                                                           const std::string& chat_prompt) const;

    // Tokens of one /v1/embeddings input; throws ApiError (400) for an empty input, an
    // out-of-vocabulary id or one longer than the context (`param` names it in messages).
    std::vector<int32_t> embedding_tokens(const std::string& text) const;
    void check_embedding_tokens(const std::vector<int32_t>& ids, const std::string& param) const;

    enum class Submit { Ok, QueueFull, Stopped };
    Submit submit(std::shared_ptr<Job> job);
    // The n choices of one request: all are queued, or none (QueueFull when they do not fit).
    Submit submit(const std::vector<std::shared_ptr<Job>>& jobs);
    Submit submit_embedding(std::shared_ptr<EmbedJob> job);
    size_t max_queue() const { return opt_.max_queue; }
    engine::Pooling pooling() const { return opt_.pooling; }
    void stop();

    int64_t waiting() const;
    int64_t running() const { return running_.load(); }
    int64_t max_sequences() const { return opt_.max_sequences; }

private:
    void loop();
    void start(std::shared_ptr<Job> job);
    // Embeds the job's next input; true when the job is finished (its result set).
    bool embed_next(EmbedJob& job);
    size_t waiting_requests() const;  // with mu_ held

    std::string alias_, path_;
    std::unique_ptr<model::Model> model_;
    WorkerOptions opt_;
    Metrics* metrics_;
    std::unique_ptr<chat::ChatTemplate> template_;
    bool own_template_ = false;
    chat::OutputFormat output_format_ = chat::OutputFormat::Hermes;
    mutable std::mutex template_mu_;
    std::unique_ptr<ThreadPool> pool_;
    std::unique_ptr<engine::BatchScheduler> scheduler_;  // used by the worker thread only
    int64_t n_ctx_ = 0;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::deque<std::shared_ptr<EmbedJob>> embed_queue_;
    model::ScratchArena embed_scratch_;  // worker thread only
    bool stopping_ = false;
    std::atomic<int64_t> running_{0};
    std::thread thread_;
};

}  // namespace hearth::server
