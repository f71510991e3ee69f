#pragma once
// Shadow evaluation: a sampled share of the live requests for one served model (the primary)
// is sent again to a candidate model, and both answers are appended to a pairs file that
// `hearth audit diff --shadow` grades. An operator sees how a new model version would have
// answered real traffic before switching to it.
//
// The primary is never touched: a request is offered to the shadow only after its response
// is complete (non-streamed: sent; streamed: the last chunk written), and offer() never waits.
// One shadow thread runs the candidate answers one at a time, non-streamed, so shadow work
// holds at most one of the candidate's sequence slots; a local candidate starts one only when
// no live request has run or waited for a moment (live traffic first). At most `max_pending` pairs wait or
// run; the rest are dropped. A local candidate whose queue is full also drops the pair
// rather than queue behind, or ahead of, live traffic. Drops, failures and recorded pairs
// are counted in /metrics (hearth_shadow_requests_total{outcome}).
//
// Which requests: a request is mirrored when it asked for `primary` (or for a route to it,
// when primary is a model), it was answered (200), and
//     u = first 8 bytes of SHA-256("<seed>:<request_sha256>") as a big-endian integer / 2^64
// is below `sample`, where request_sha256 is the hex SHA-256 of the raw request body (the
// audit log's request_sha256). The choice is reproducible: the same body with the same seed
// is always or never mirrored, and another seed picks another share.
//
// What the candidate gets: the request as the primary ran it (messages, tools, prompt, the
// primary's sampling defaults filled in, the same seed and temperature), non-streamed, without
// logprobs; with n > 1 only the first choice is compared. A pair whose candidate failed is
// recorded with its error.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/api.h"
#include "server/audit_log.h"
#include "server/config.h"

namespace hearth::client {
class OpenAIClient;
}

namespace hearth::server {

class Metrics;
class ModelWorker;

// One model's answer to a mirrored request.
struct ShadowAnswer {
    std::string model;      // the local alias or upstream model that answered
    std::string served_by;  // the alias, or "upstream:NAME"
    std::string sha256;     // of the local model file ("" for upstreams)
    std::string content;    // chat: message.content; completions: the text
    std::string reasoning_content;
    json tool_calls = nullptr;
    std::string finish_reason;
    int64_t prompt_tokens = 0, completion_tokens = 0;
    double latency_ms = 0;
    std::string error;  // "" when it answered
};

struct ShadowRequest {
    std::string time;  // when the primary request arrived (utc_now())
    std::string request_id, key_id, route, requested_model, request_sha256;
    CompletionRequest request;  // as the primary ran it
    ShadowAnswer primary;
};

// A pair's request side from the primary's audit entry (served_by, model_sha256 filled) and
// its parsed request; `target` is the model the name resolved to.
std::shared_ptr<ShadowRequest> shadow_request(const AuditEntry& a, const CompletionRequest& r, const std::string& target);
// An answer's text: chat `message` (content, reasoning_content, tool_calls) when it is an
// object, else `text` as the content.
void set_answer(ShadowAnswer& a, const std::string& text, const json& message);

// u of the rule above, in [0, 1).
double shadow_draw(uint64_t seed, const std::string& request_sha256);
bool shadow_sampled(double sample, uint64_t seed, const std::string& request_sha256);

// One line of the pairs file (v 1). Under AuditContent::Hashes the prompt and every answer's
// text are replaced by their SHA-256 (the audit log's definitions) and "gradable" is false.
json shadow_pair_record(const ShadowRequest& r, const ShadowAnswer& candidate, AuditContent content);

// Who answers the mirrored requests.
class ShadowCandidate {
public:
    enum class Outcome { Answered, Busy, Failed };  // Busy: no room now, the pair is dropped
    virtual ~ShadowCandidate() = default;
    // Fills `out` (its error when Failed).
    virtual Outcome answer(const ShadowRequest& r, ShadowAnswer& out) = 0;
    // Shutdown: the answer in progress ends soon.
    virtual void cancel() {}
};

// A model served by this process: its own worker queue, its own chat template and parser.
// It shares the cores with live traffic, so it starts an answer only once `live_busy` (any
// local model running or queueing a request) has been false for kShadowIdleSettle; under
// continuous load pairs wait, up to max_pending, and the rest are dropped.
inline constexpr std::chrono::milliseconds kShadowIdleSettle{50};
std::unique_ptr<ShadowCandidate> local_shadow_candidate(ModelWorker& w, std::string sha256, double timeout_s,
                                                        std::function<bool()> live_busy);
// A model of an [[upstreams]] entry: one non-streamed chat request, no retries (chat only:
// mirrored /v1/completions requests are recorded as failed).
std::unique_ptr<ShadowCandidate> upstream_shadow_candidate(const UpstreamConfig& u, std::string model,
                                                           double timeout_s);

class ShadowMirror {
public:
    // Opens the pairs file for appending (a record a crash cut short is dropped first; a
    // second writer is refused). Throws hearth::Error naming the file.
    ShadowMirror(ShadowConfig cfg, AuditContent content, std::unique_ptr<ShadowCandidate> candidate,
                 Metrics* metrics);
    ~ShadowMirror();  // cancels the answer in progress; pairs still waiting are dropped
    ShadowMirror(const ShadowMirror&) = delete;
    ShadowMirror& operator=(const ShadowMirror&) = delete;

    // Whether this request is one to mirror (`target`: the model its name resolved to).
    bool selects(const std::string& requested, const std::string& target, const std::string& request_sha256) const;
    // Hands a finished primary over; never blocks (dropped and counted when max_pending are held).
    void offer(std::shared_ptr<ShadowRequest> r);
    const ShadowConfig& config() const { return cfg_; }

private:
    void loop();
    void append(const std::string& line);

    ShadowConfig cfg_;
    AuditContent content_;
    std::unique_ptr<ShadowCandidate> candidate_;
    Metrics* metrics_;
    int fd_ = -1;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<ShadowRequest>> queue_;
    size_t held_ = 0;  // waiting + running
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hearth::server
