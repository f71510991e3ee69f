#include "server/model_worker.h"

#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "model/model.h"
#include "server/metrics.h"
#include "tokenizer/tokenizer.h"

namespace hearth::server {

const char* const kFallbackChatTemplate =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] if message['content'] is string else '') + "
    "'<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

// ---- RequestChannel ----

bool RequestChannel::push(const std::string& piece) {
    if (cancelled_.load()) return false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        pending_ += piece;
    }
    cv_.notify_all();
    return !cancelled_.load();
}

void RequestChannel::finish(engine::GenerateResult r) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        result_ = std::move(r);
        done_ = true;
    }
    cv_.notify_all();
}

void RequestChannel::fail(std::string message) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = std::move(message);
        done_ = true;
    }
    cv_.notify_all();
}

void RequestChannel::cancel() { cancelled_.store(true); }

bool RequestChannel::wait(std::string& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return done_ || !pending_.empty(); });
    out += pending_;
    pending_.clear();
    return done_;
}

bool RequestChannel::wait_done() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    pending_.clear();
    return error_.empty();
}

// ---- ModelWorker ----

namespace {
std::string token_text_or_empty(const tokenizer::Tokenizer& tok, int32_t id) {
    return id >= 0 && id < tok.n_vocab() ? tok.token_text(id) : std::string();
}
}  // namespace

ModelWorker::ModelWorker(std::string alias, std::string path, std::unique_ptr<model::Model> m,
                         const WorkerOptions& opt, Metrics* metrics)
    : alias_(std::move(alias)), path_(std::move(path)), model_(std::move(m)), opt_(opt), metrics_(metrics) {
    if (model_->file().has("tokenizer.chat_template")) {
        template_ = std::make_unique<chat::ChatTemplate>(chat::ChatTemplate::from_gguf(model_->file()));
        own_template_ = true;
    } else {
        const auto& tok = model_->tokenizer();
        template_ = std::make_unique<chat::ChatTemplate>(kFallbackChatTemplate, token_text_or_empty(tok, tok.bos_id()),
                                                         token_text_or_empty(tok, tok.eos_id()));
    }
    pool_ = std::make_unique<ThreadPool>(std::max(1, opt_.threads));
    if (opt_.max_sequences <= 0) opt_.max_sequences = 1;
    engine::SchedulerOptions so;
    so.max_sequences = opt_.max_sequences;
    so.n_ctx = opt_.session.n_ctx;
    so.n_batch = opt_.session.n_batch;
    so.kv_type = opt_.session.kv_type;
    scheduler_ = std::make_unique<engine::BatchScheduler>(*model_, *pool_, so);
    n_ctx_ = scheduler_->n_ctx();
    thread_ = std::thread([this] { loop(); });
}

ModelWorker::~ModelWorker() {
    stop();
    if (thread_.joinable()) thread_.join();
}

void ModelWorker::stop() {
    std::deque<std::shared_ptr<Job>> dropped;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        dropped.swap(queue_);
    }
    cv_.notify_all();
    for (auto& j : dropped) j->channel->fail("the server is shutting down");
}

ModelWorker::Submit ModelWorker::submit(std::shared_ptr<Job> job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return Submit::Stopped;
        if (queue_.size() >= opt_.max_queue) return Submit::QueueFull;
        queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return Submit::Ok;
}

int64_t ModelWorker::waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(queue_.size());
}

std::vector<int32_t> ModelWorker::prompt_tokens(const CompletionRequest& r) const {
    const auto& tok = model_->tokenizer();
    std::vector<int32_t> ids;
    if (r.endpoint == Endpoint::Chat) {
        std::string text;
        try {
            std::lock_guard<std::mutex> lock(template_mu_);
            text = template_->render(r.messages, r.tools.is_array() ? r.tools : json(nullptr), true);
        } catch (const Error& e) {
            throw invalid_request(std::string("the model's chat template rejected the messages: ") + e.what(),
                                  "messages", "template_error");
        }
        // Templates that write the BOS text themselves must not get a second one.
        const std::string& bos = template_->bos_token();
        const bool has_bos = !bos.empty() && text.compare(0, bos.size(), bos) == 0;
        ids = tok.encode(text, !has_bos, true);
    } else if (r.prompt_is_tokens) {
        ids = r.prompt_tokens;
        for (int32_t id : ids)
            if (id >= tok.n_vocab())
                throw invalid_request("'prompt': token id " + std::to_string(id) + " is not in the vocabulary of " +
                                          std::to_string(tok.n_vocab()) + " tokens",
                                      "prompt", "invalid_value");
    } else {
        ids = tok.encode(r.prompt, true, true);
    }
    if (ids.empty()) throw invalid_request("the prompt is empty after tokenization", "prompt", "invalid_value");
    if (static_cast<int64_t>(ids.size()) >= n_ctx_)
        throw invalid_request("the prompt has " + std::to_string(ids.size()) + " tokens, but the context of model '" +
                                  alias_ + "' holds " + std::to_string(n_ctx_) +
                                  " (one more is needed for the answer); shorten the prompt or raise --ctx-size",
                              r.endpoint == Endpoint::Chat ? "messages" : "prompt", "context_length_exceeded");
    return ids;
}

void ModelWorker::loop() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !scheduler_->idle(); });
            if (stopping_) break;
            // Admission: queued jobs take free slots in arrival order; the rest keep waiting
            // in the bounded queue (so 429 still means "more waiting than max_queue").
            while (!queue_.empty() && scheduler_->has_free_slot()) {
                std::shared_ptr<Job> job = std::move(queue_.front());
                queue_.pop_front();
                start(std::move(job));
            }
            running_.store(scheduler_->n_active());
        }
        scheduler_->step();
        running_.store(scheduler_->n_active());
    }
    // Jobs still generating end with an error, as the queued ones do in stop().
    scheduler_->abort_all("the server is shutting down");
    running_.store(0);
}

void ModelWorker::start(std::shared_ptr<Job> job) {
    std::shared_ptr<RequestChannel> ch = job->channel;
    if (ch->cancelled()) {
        if (metrics_) metrics_->count_cancelled(alias_);
        ch->fail("cancelled before it started");
        return;
    }
    auto req = std::make_shared<engine::SequenceRequest>();
    req->prompt = job->prompt;
    req->gen = job->gen;
    const int64_t room = n_ctx_ - static_cast<int64_t>(job->prompt.size());
    if (req->gen.max_tokens <= 0 || req->gen.max_tokens > room) req->gen.max_tokens = std::max<int64_t>(room, 1);
    req->deadline = job->deadline;
    if (opt_.request_timeout_s > 0) {
        const auto limit = job->received + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               std::chrono::duration<double>(opt_.request_timeout_s));
        req->deadline = std::min(req->deadline, limit);
    }
    // Time to first token: the first piece of text, or the end for a request that produced none.
    auto first = std::make_shared<bool>(true);
    auto ttft = [this, first, received = job->received] {
        if (!*first) return;
        *first = false;
        if (metrics_)
            metrics_->observe_ttft(alias_,
                                   std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
    };
    req->on_text = [ch, ttft](const std::string& piece) {
        ttft();
        return ch->push(piece);
    };
    req->cancelled = [ch] { return ch->cancelled(); };
    req->on_done = [this, ch, ttft](engine::GenerateResult r) {
        ttft();
        if (metrics_) {
            metrics_->add_tokens(alias_, r.n_prompt, static_cast<int64_t>(r.tokens.size()));
            if (r.finish_reason == "cancelled") metrics_->count_cancelled(alias_);
        }
        ch->finish(std::move(r));
    };
    req->on_error = [ch](const std::string& message) { ch->fail(message); };
    scheduler_->add(std::move(req));
}

}  // namespace hearth::server
