#include "server/shadow.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "audit/hash.h"
#include "audit/jsonl_append.h"
#include "chat/output_parser.h"
#include "client/openai_client.h"
#include "core/error.h"
#include "model/model.h"
#include "server/chat_output.h"
#include "server/metrics.h"
#include "server/model_worker.h"

namespace hearth::server {

namespace {

std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The sampling and limit fields both models ran with.
json request_params(const CompletionRequest& r) {
    const auto& s = r.gen.sampling;
    json p = {{"temperature", s.temperature},
              {"top_p", s.top_p},
              {"top_k", s.top_k},
              {"min_p", s.min_p},
              {"repeat_penalty", s.repeat_penalty},
              {"presence_penalty", s.presence_penalty},
              {"frequency_penalty", s.frequency_penalty},
              {"seed", s.seed},
              {"max_tokens", r.gen.max_tokens},
              {"stop", r.gen.stop},
              {"n", r.n},
              {"stream", r.stream}};
    if (r.grammar) p["constrained"] = true;  // response_format grammar / json_schema
    return p;
}

json prompt_of(const CompletionRequest& r) {
    if (r.endpoint == Endpoint::Chat) return r.messages;
    if (r.prompt_is_tokens) return json(r.prompt_tokens);
    return json(r.prompt);
}

json answer_json(const ShadowAnswer& a, bool full) {
    json j = {{"model", a.model}, {"served_by", a.served_by}, {"sha256", a.sha256}};
    if (full) {
        j["content"] = a.content;
        j["reasoning_content"] = a.reasoning_content;
        j["tool_calls"] = a.tool_calls;
    } else {
        j["content_sha256"] = audit::sha256_hex(a.content);
        j["reasoning_sha256"] = audit::sha256_hex(a.reasoning_content);
        j["tool_calls_sha256"] = a.tool_calls.is_null() ? json(nullptr) : json(audit::sha256_hex(compact(a.tool_calls)));
    }
    j["finish_reason"] = a.finish_reason;
    j["prompt_tokens"] = a.prompt_tokens;
    j["completion_tokens"] = a.completion_tokens;
    j["latency_ms"] = a.latency_ms;
    j["error"] = a.error.empty() ? json(nullptr) : json(a.error);
    return j;
}

class LocalCandidate : public ShadowCandidate {
public:
    LocalCandidate(ModelWorker& w, std::string sha256, double timeout_s, std::function<bool()> live_busy)
        : w_(w), sha256_(std::move(sha256)), timeout_(timeout_s), live_busy_(std::move(live_busy)) {}

    Outcome answer(const ShadowRequest& r, ShadowAnswer& out) override {
        out.model = out.served_by = w_.alias();
        out.sha256 = sha256_;
        if (!wait_until_idle()) return Outcome::Busy;
        const auto t0 = std::chrono::steady_clock::now();
        const CompletionRequest& q = r.request;
        const bool chat = q.endpoint == Endpoint::Chat;
        auto job = std::make_shared<Job>();
        std::string chat_prompt;
        try {
            job->prompt = w_.prompt_tokens(q, chat ? &chat_prompt : nullptr);
        } catch (const std::exception& e) {
            out.error = std::string("the candidate cannot take the prompt: ") + e.what();
            return Outcome::Failed;
        }
        job->gen = q.gen;
        job->gen.top_logprobs = -1;
        if (q.grammar) {
            job->constraint =
                std::make_shared<chat::GrammarConstraint>(q.grammar, chat::TokenIndex::build(w_.model().tokenizer()));
            job->gen.constraint = job->constraint.get();
        }
        auto ch = std::make_shared<RequestChannel>(1);
        job->channel = ch;
        job->deadline = job->received + std::chrono::milliseconds(static_cast<int64_t>(timeout_ * 1000));
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (cancelled_) return Outcome::Busy;
            current_ = ch;
        }
        const ModelWorker::Submit s = w_.submit(job);
        if (s != ModelWorker::Submit::Ok) {
            std::lock_guard<std::mutex> lock(mu_);
            current_.reset();
            if (s == ModelWorker::Submit::QueueFull) return Outcome::Busy;
            out.error = "the candidate is shutting down";
            return Outcome::Failed;
        }
        const bool ok = ch->wait_done();
        {
            std::lock_guard<std::mutex> lock(mu_);
            current_.reset();
        }
        out.latency_ms = ms_since(t0);
        const engine::GenerateResult& g = ch->result(0);
        out.prompt_tokens = static_cast<int64_t>(job->prompt.size());
        out.completion_tokens = static_cast<int64_t>(g.tokens.size());
        if (!ok) {
            out.error = "generation failed: " + ch->error();
            return Outcome::Failed;
        }
        out.finish_reason = finish_reason(g.finish_reason);
        if (!chat) {
            out.content = g.text;
            return Outcome::Answered;
        }
        ChatOutput parsed(w_.output_format(), chat::prompt_opens_reasoning(chat_prompt), q.tools);
        parsed.push(g.text);
        parsed.finish();
        set_answer(out, g.text, parsed.message());
        out.finish_reason = parsed.finish_reason(out.finish_reason);
        return Outcome::Answered;
    }

    void cancel() override {
        std::lock_guard<std::mutex> lock(mu_);
        cancelled_ = true;
        if (current_) current_->cancel();
        idle_cv_.notify_all();
    }

private:
    // Live traffic first: a request arriving back to back with the one before leaves the
    // models idle for a few milliseconds only, so idleness must last kShadowIdleSettle.
    // False when cancelled.
    bool wait_until_idle() {
        auto idle_since = std::chrono::steady_clock::now();
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
            if (cancelled_) return false;
            const auto now = std::chrono::steady_clock::now();
            if (live_busy_ && live_busy_()) idle_since = now;
            else if (now - idle_since >= kShadowIdleSettle) return true;
            idle_cv_.wait_for(lock, std::chrono::milliseconds(10));
        }
    }

    ModelWorker& w_;
    std::string sha256_;
    double timeout_;
    std::function<bool()> live_busy_;
    std::condition_variable idle_cv_;
    std::mutex mu_;
    std::shared_ptr<RequestChannel> current_;
    bool cancelled_ = false;
};

class UpstreamCandidate : public ShadowCandidate {
public:
    UpstreamCandidate(const UpstreamConfig& u, std::string model, double timeout_s)
        : name_(u.name), model_(std::move(model)) {
        std::string key;
        if (!u.api_key_file.empty()) key = read_hmac_key_file(u.api_key_file);  // a key file: its bytes, one newline dropped
        client::RetryPolicy once;
        once.max_retries = 0;  // a shadow must not add load to a struggling server
        client_ = std::make_unique<client::OpenAIClient>(u.base_url, key, timeout_s, once);
    }

    Outcome answer(const ShadowRequest& r, ShadowAnswer& out) override {
        out.model = model_;
        out.served_by = "upstream:" + name_;
        const CompletionRequest& q = r.request;
        if (q.endpoint != Endpoint::Chat) {
            out.error = "only chat requests are mirrored to an upstream candidate";
            return Outcome::Failed;
        }
        const auto& s = q.gen.sampling;
        nlohmann::json extra = {{"temperature", s.temperature}, {"top_p", s.top_p},
                                {"seed", s.seed},               {"presence_penalty", s.presence_penalty},
                                {"frequency_penalty", s.frequency_penalty}};
        if (!q.gen.stop.empty()) extra["stop"] = q.gen.stop;
        if (!q.tools.is_null()) extra["tools"] = nlohmann::json::parse(q.tools.dump());
        const auto t0 = std::chrono::steady_clock::now();
        try {
            // max_tokens <= 0 means "to the end of the context" here; an upstream wants a number.
            const client::ChatReply rep = client_->chat(model_, nlohmann::json::parse(q.messages.dump()),
                                                        q.gen.max_tokens > 0 ? q.gen.max_tokens : 4096, extra);
            out.latency_ms = ms_since(t0);
            out.content = rep.content;
            out.reasoning_content = rep.reasoning_content;
            out.finish_reason = rep.finish_reason;
            out.prompt_tokens = rep.prompt_tokens;
            out.completion_tokens = rep.completion_tokens;
            const auto& msg = rep.raw["choices"][0]["message"];
            if (msg.contains("tool_calls") && msg["tool_calls"].is_array()) out.tool_calls = json::parse(msg["tool_calls"].dump());
            return Outcome::Answered;
        } catch (const std::exception& e) {
            out.latency_ms = ms_since(t0);
            out.error = e.what();
            return Outcome::Failed;
        }
    }

private:
    std::string name_, model_;
    std::unique_ptr<client::OpenAIClient> client_;
};

}  // namespace

std::shared_ptr<ShadowRequest> shadow_request(const AuditEntry& a, const CompletionRequest& r, const std::string& target) {
    auto s = std::make_shared<ShadowRequest>();
    s->time = utc_now();
    s->request_id = a.request_id;
    s->key_id = a.key_id;
    s->route = a.route;
    s->requested_model = r.model;
    s->request_sha256 = a.request_sha256;
    s->request = r;
    s->primary.model = target;
    s->primary.served_by = a.served_by;
    s->primary.sha256 = a.model_sha256;
    return s;
}

void set_answer(ShadowAnswer& a, const std::string& text, const json& message) {
    if (!message.is_object()) {
        a.content = text;
        return;
    }
    a.content = message.contains("content") && message["content"].is_string() ? message["content"].get<std::string>() : "";
    if (message.contains("reasoning_content") && message["reasoning_content"].is_string())
        a.reasoning_content = message["reasoning_content"].get<std::string>();
    a.tool_calls = message.contains("tool_calls") ? message["tool_calls"] : json(nullptr);
}

double shadow_draw(uint64_t seed, const std::string& request_sha256) {
    const std::string h = audit::sha256_hex(std::to_string(seed) + ":" + request_sha256);
    const uint64_t top = std::stoull(h.substr(0, 16), nullptr, 16);
    return static_cast<double>(top) * 0x1p-64;
}

bool shadow_sampled(double sample, uint64_t seed, const std::string& request_sha256) {
    if (sample <= 0) return false;
    if (sample >= 1) return true;  // also when u rounds up to 1.0 in double
    return shadow_draw(seed, request_sha256) < sample;
}

json shadow_pair_record(const ShadowRequest& r, const ShadowAnswer& candidate, AuditContent content) {
    const bool full = content == AuditContent::Full;
    json req = {{"endpoint", r.request.endpoint == Endpoint::Chat ? "chat" : "completion"}};
    const json prompt = prompt_of(r.request);
    if (full) {
        req[r.request.endpoint == Endpoint::Chat ? "messages" : "prompt"] = prompt;
        if (!r.request.tools.is_null()) req["tools"] = r.request.tools;
    } else {
        req["prompt_sha256"] = audit::sha256_hex(compact(prompt));
    }
    req["params"] = request_params(r.request);
    return json{{"v", 1},
                {"type", "shadow_pair"},
                {"time", r.time},
                {"request_id", r.request_id},
                {"key_id", r.key_id},
                {"route", r.route},
                {"model", r.requested_model},
                {"sampled", true},
                {"content", to_string(content)},
                {"gradable", full},
                {"request_sha256", r.request_sha256},
                {"request", std::move(req)},
                {"primary", answer_json(r.primary, full)},
                {"candidate", answer_json(candidate, full)}};
}

std::unique_ptr<ShadowCandidate> local_shadow_candidate(ModelWorker& w, std::string sha256, double timeout_s,
                                                        std::function<bool()> live_busy) {
    return std::make_unique<LocalCandidate>(w, std::move(sha256), timeout_s, std::move(live_busy));
}

std::unique_ptr<ShadowCandidate> upstream_shadow_candidate(const UpstreamConfig& u, std::string model,
                                                           double timeout_s) {
    return std::make_unique<UpstreamCandidate>(u, std::move(model), timeout_s);
}

ShadowMirror::ShadowMirror(ShadowConfig cfg, AuditContent content, std::unique_ptr<ShadowCandidate> candidate,
                           Metrics* metrics)
    : cfg_(std::move(cfg)), content_(content), candidate_(std::move(candidate)), metrics_(metrics) {
    // Leaves the file ending in a whole line, so the next record starts on its own.
    const auto existing = audit::read_jsonl_for_append(cfg_.path);
    if (existing.dropped_partial_tail)
        std::fprintf(stderr, "hearth serve: shadow pairs %s: dropped a record cut short by a crash\n", cfg_.path.c_str());
    fd_ = ::open(cfg_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error("shadow pairs " + cfg_.path + ": cannot open: " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd_);
        throw Error("shadow pairs " + cfg_.path + ": another process is writing it");
    }
    if (metrics_) metrics_->enable_shadow();
    thread_ = std::thread([this] { loop(); });
}

ShadowMirror::~ShadowMirror() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        if (metrics_)
            for (size_t i = 0; i < queue_.size(); ++i) metrics_->count_shadow("dropped");
        held_ -= queue_.size();
        queue_.clear();
    }
    cv_.notify_all();
    candidate_->cancel();
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

bool ShadowMirror::selects(const std::string& requested, const std::string& target,
                           const std::string& request_sha256) const {
    if (requested != cfg_.primary && target != cfg_.primary) return false;
    return shadow_sampled(cfg_.sample, cfg_.seed, request_sha256);
}

void ShadowMirror::offer(std::shared_ptr<ShadowRequest> r) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!stopping_ && held_ < cfg_.max_pending) {
            queue_.push_back(std::move(r));
            ++held_;
            cv_.notify_one();
            return;
        }
    }
    if (metrics_) metrics_->count_shadow("dropped");
}

void ShadowMirror::append(const std::string& line) {
    // One write() on an O_APPEND descriptor: a crash leaves at worst one partial last line,
    // which the next open drops. This runs on the shadow thread, so the sync costs no request.
    size_t off = 0;
    while (off < line.size()) {
        const ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error("shadow pairs " + cfg_.path + ": write failed: " + std::strerror(errno));
        off += static_cast<size_t>(n);
    }
    if (::fdatasync(fd_) != 0) throw Error("shadow pairs " + cfg_.path + ": sync failed: " + std::strerror(errno));
}

void ShadowMirror::loop() {
    for (;;) {
        std::shared_ptr<ShadowRequest> r;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping
            r = std::move(queue_.front());
            queue_.pop_front();
        }
        ShadowAnswer cand;
        const ShadowCandidate::Outcome o = candidate_->answer(*r, cand);
        std::string outcome = "dropped";
        bool stopping = false;
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping = stopping_;
        }
        if (o != ShadowCandidate::Outcome::Busy && !stopping) {
            try {
                append(compact(shadow_pair_record(*r, cand, content_)) + "\n");
                outcome = o == ShadowCandidate::Outcome::Answered ? "recorded" : "failed";
            } catch (const std::exception& e) {
                std::fprintf(stderr, "hearth serve: %s\n", e.what());
                outcome = "failed";
            }
        }
        if (metrics_) metrics_->count_shadow(outcome);
        std::lock_guard<std::mutex> lock(mu_);
        --held_;
    }
}

}  // namespace hearth::server
