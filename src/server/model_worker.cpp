#include "server/model_worker.h"

#include <algorithm>

#include "chat/tool_call_grammar.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "model/model.h"
#include "server/metrics.h"
#include "chat/model_template.h"
#include "tokenizer/tokenizer.h"

namespace hearth::server {

// ---- RequestChannel ----

RequestChannel::RequestChannel(size_t n_choices) : choices_(std::max<size_t>(n_choices, 1)) {}

bool RequestChannel::push(const std::string& piece, size_t choice) {
    if (cancelled_.load()) return false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        choices_.at(choice).pending += piece;
    }
    cv_.notify_all();
    return !cancelled_.load();
}

void RequestChannel::push_logprob(const engine::TokenLogprob& t, size_t choice) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        choices_.at(choice).pending_logprobs.push_back(t);
    }
    cv_.notify_all();
}

void RequestChannel::finish(engine::GenerateResult r, size_t choice) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        Choice& c = choices_.at(choice);
        if (!c.done) {
            c.result = std::move(r);
            c.done = true;
            ++n_done_;
        }
    }
    cv_.notify_all();
}

void RequestChannel::fail(std::string message) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!failed_) error_ = std::move(message);  // the first error is the cause
        failed_ = true;
    }
    cancelled_.store(true);  // the request has failed: its other choices stop at their next token
    cv_.notify_all();
}

void RequestChannel::cancel() { cancelled_.store(true); }

bool RequestChannel::wait(std::vector<Delta>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    auto news = [&] {
        for (const auto& c : choices_)
            if (!c.pending.empty() || !c.pending_logprobs.empty() || (c.done && !c.reported)) return true;
        return all_done();
    };
    cv_.wait_for(lock, timeout, news);
    out.assign(choices_.size(), Delta{});
    for (size_t i = 0; i < choices_.size(); ++i) {
        Choice& c = choices_[i];
        out[i].text.swap(c.pending);
        out[i].logprobs.swap(c.pending_logprobs);
        if (c.done && !c.reported) out[i].finished = c.reported = true;
    }
    return all_done();
}

bool RequestChannel::wait(std::string& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return all_done() || !choices_[0].pending.empty(); });
    out += choices_[0].pending;
    choices_[0].pending.clear();
    return all_done();
}

bool RequestChannel::wait_done() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return all_done(); });
    for (auto& c : choices_) {
        c.pending.clear();
        c.pending_logprobs.clear();
    }
    return error_.empty() && !failed_;
}

// ---- ModelWorker ----

ModelWorker::ModelWorker(std::string alias, std::string path, std::unique_ptr<model::Model> m,
                         const WorkerOptions& opt, Metrics* metrics)
    : alias_(std::move(alias)), path_(std::move(path)), model_(std::move(m)), opt_(opt), metrics_(metrics) {
    chat::ModelTemplate t = chat::template_for_model(model_->file(), model_->tokenizer());
    template_ = std::make_unique<chat::ChatTemplate>(std::move(t.tmpl));
    own_template_ = t.own;
    output_format_ = chat::detect_output_format(template_->source());
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
    std::deque<std::shared_ptr<EmbedJob>> dropped_embed;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        dropped.swap(queue_);
        dropped_embed.swap(embed_queue_);
    }
    cv_.notify_all();
    for (auto& j : dropped) j->channel->fail("the server is shutting down");
    for (auto& j : dropped_embed) j->result.set_exception(std::make_exception_ptr(Error("the server is shutting down")));
}

ModelWorker::Submit ModelWorker::submit(std::shared_ptr<Job> job) {
    return submit(std::vector<std::shared_ptr<Job>>{std::move(job)});
}

ModelWorker::Submit ModelWorker::submit(const std::vector<std::shared_ptr<Job>>& jobs) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return Submit::Stopped;
        // max_queue counts requests, not sequences: the n choices of one request are one entry.
        if (waiting_requests() + 1 > opt_.max_queue) return Submit::QueueFull;
        // Queued together, the choices are admitted together (slots permitting), so the later
        // ones copy the first one's prompt cache instead of computing it again.
        for (const auto& j : jobs) queue_.push_back(j);
    }
    cv_.notify_one();
    return Submit::Ok;
}

ModelWorker::Submit ModelWorker::submit_embedding(std::shared_ptr<EmbedJob> job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return Submit::Stopped;
        if (waiting_requests() + 1 > opt_.max_queue) return Submit::QueueFull;
        embed_queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return Submit::Ok;
}

size_t ModelWorker::waiting_requests() const {
    // A request's choices are queued next to each other and leave in order.
    size_t n = embed_queue_.size();
    const RequestChannel* last = nullptr;
    for (const auto& j : queue_) {
        if (j->channel.get() != last) ++n;
        last = j->channel.get();
    }
    return n;
}

std::vector<int32_t> ModelWorker::embedding_tokens(const std::string& text) const {
    // As for completions: the tokenizer's BOS when the model wants one, special tokens parsed.
    return model_->tokenizer().encode(text, true, true);
}

void ModelWorker::check_embedding_tokens(const std::vector<int32_t>& ids, const std::string& param) const {
    if (ids.empty()) throw invalid_request("'" + param + "' is empty", "input", "invalid_value");
    for (int32_t id : ids)
        if (id < 0 || id >= model_->tokenizer().n_vocab())
            throw invalid_request("'" + param + "': token id " + std::to_string(id) + " is not in the vocabulary of " +
                                      std::to_string(model_->tokenizer().n_vocab()) + " tokens",
                                  "input", "invalid_value");
    if (static_cast<int64_t>(ids.size()) > n_ctx_)
        throw invalid_request("'" + param + "' has " + std::to_string(ids.size()) + " tokens, but the context of model '" +
                                  alias_ + "' holds " + std::to_string(n_ctx_) +
                                  "; shorten the input or raise --ctx-size",
                              "input", "context_length_exceeded");
}

std::shared_ptr<const chat::Grammar> ModelWorker::tool_call_grammar(const CompletionRequest& r,
                                                                    const std::string& chat_prompt) const {
    const std::string& src = template_->source();
    if (own_template_ && !chat::template_writes_tool_calls(src))
        throw invalid_request("model '" + alias_ +
                                  "': its chat template writes no tool-call markup hearth knows (Hermes/Qwen "
                                  "<tool_call>, DeepSeek, GLM, Kimi-K2, Llama 3), so tool_choice 'required' or a "
                                  "named function cannot be enforced; use tool_choice 'auto'",
                              "tool_choice", "unsupported_value");
    chat::ToolCallGrammarOptions opt;
    if (r.tool_choice == CompletionRequest::ToolChoice::Named) opt.only = r.tool_name;
    opt.parallel = r.parallel_tool_calls;
    opt.starts_in_reasoning = chat::prompt_opens_reasoning(chat_prompt);
    try {
        return std::make_shared<const chat::Grammar>(chat::tool_call_grammar(r.tools, src, opt));
    } catch (const Error& e) {
        throw invalid_request(std::string("tool_choice: ") + e.what(), "tools", "invalid_value");
    }
}

int64_t ModelWorker::waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(queue_.size());
}

std::vector<int32_t> ModelWorker::prompt_tokens(const CompletionRequest& r, std::string* chat_prompt) const {
    const auto& tok = model_->tokenizer();
    std::vector<int32_t> ids;
    if (r.endpoint == Endpoint::Chat) {
        std::string text;
        try {
            std::lock_guard<std::mutex> lock(template_mu_);
            text = template_->render(r.messages, r.tools.is_array() ? r.tools : json(nullptr), true, r.template_kwargs);
        } catch (const Error& e) {
            throw invalid_request(std::string("the model's chat template rejected the messages: ") + e.what(),
                                  "messages", "template_error");
        }
        if (chat_prompt) *chat_prompt = text;
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
    std::shared_ptr<EmbedJob> embed;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] {
                return stopping_ || embed || !queue_.empty() || !embed_queue_.empty() || !scheduler_->idle();
            });
            if (stopping_) break;
            // Admission: queued jobs take free slots in arrival order; the rest keep waiting
            // in the bounded queue (so 429 still means "more waiting than max_queue").
            while (!queue_.empty() && scheduler_->has_free_slot()) {
                std::shared_ptr<Job> job = std::move(queue_.front());
                queue_.pop_front();
                start(std::move(job));
            }
            running_.store(scheduler_->n_active());
            if (!embed && !embed_queue_.empty()) {
                embed = std::move(embed_queue_.front());
                embed_queue_.pop_front();
            }
        }
        // An embedding request shares the thread pool with the scheduler, which cannot run at
        // the same time: its inputs (one prefill each) go one per step, so that sequences being
        // decoded wait for one input rather than the whole request (measured with
        // bench/embed_stall.py: 16 inputs stalled a stream ~20 s at once before, bench/README.md).
        if (embed && embed_next(*embed)) embed.reset();
        scheduler_->step();
        running_.store(scheduler_->n_active());
    }
    if (embed) embed->result.set_exception(std::make_exception_ptr(Error("the server is shutting down")));
    // Jobs still generating end with an error, as the queued ones do in stop().
    scheduler_->abort_all("the server is shutting down");
    running_.store(0);
}

bool ModelWorker::embed_next(EmbedJob& job) {
    try {
        if (job.inputs.empty()) {
            job.result.set_value({});
            return true;
        }
        const auto& ids = job.inputs[job.done.size()];
        job.done.push_back(engine::embed(*model_, *pool_, ids, opt_.pooling, opt_.session.n_batch, embed_scratch_));
        if (metrics_) metrics_->add_tokens(alias_, static_cast<int64_t>(ids.size()), 0);
        if (job.done.size() < job.inputs.size()) return false;
        job.result.set_value(std::move(job.done));
    } catch (...) {
        job.result.set_exception(std::current_exception());
    }
    return true;
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
    auto first = std::make_shared<bool>(job->choice == 0);  // one TTFT per request: choice 0's
    auto ttft = [this, first, received = job->received] {
        if (!*first) return;
        *first = false;
        if (metrics_)
            metrics_->observe_ttft(alias_,
                                   std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
    };
    const size_t choice = job->choice;
    // gen.constraint points into job->constraint: the request keeps it alive, since a streamed
    // request's Job is dropped by the HTTP side as soon as it is queued.
    req->on_text = [ch, ttft, choice, keep = job->constraint](const std::string& piece) {
        ttft();
        return ch->push(piece, choice);
    };
    if (job->stream && job->gen.top_logprobs >= 0)
        req->on_logprob = [ch, choice](const engine::TokenLogprob& t) { ch->push_logprob(t, choice); };
    req->cancelled = [ch] { return ch->cancelled(); };
    req->on_done = [this, ch, ttft, choice](engine::GenerateResult r) {
        ttft();
        if (metrics_) {
            // The choices of one request share its prompt: counted once.
            metrics_->add_tokens(alias_, choice == 0 ? r.n_prompt : 0, static_cast<int64_t>(r.tokens.size()));
            if (r.finish_reason == "cancelled" && choice == 0) metrics_->count_cancelled(alias_);
        }
        ch->finish(std::move(r), choice);
    };
    req->on_error = [ch](const std::string& message) { ch->fail(message); };
    scheduler_->add(std::move(req));
}

}  // namespace hearth::server
