#pragma once
// A small client for OpenAI-compatible chat completion servers (vLLM, SGLang, llama.cpp's
// llama-server, hearth serve): one non-streaming POST /chat/completions per call, retried when
// the server is busy (429) or failing (5xx) or cannot be reached, honouring Retry-After.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace hearth::client {

struct ChatReply {
    std::string content;
    std::string reasoning_content;  // "reasoning_content" or "reasoning", when the server splits it
    std::string finish_reason;
    int64_t prompt_tokens = 0, completion_tokens = 0;
    nlohmann::json raw;  // the whole response body
};

// When and how long to wait before trying a request again. A 429 or 5xx reply, or no
// connection at all, is retried up to max_retries times; the wait is the reply's Retry-After
// (seconds) when it has one, else base_delay_s doubled per attempt; either is capped at
// max_delay_s. Other failures (4xx, a read timeout, a malformed body) are not retried: the
// same request would fail the same way, or has already used its time.
struct RetryPolicy {
    int max_retries = 4;
    double base_delay_s = 0.5;
    double max_delay_s = 60;
};

class OpenAIClient {
public:
    // base_url: "http://host:port/v1" (https too); api_key: sent as a Bearer token when not empty.
    // timeout_s: the most one attempt may wait for the server to send (and to accept the request).
    // Throws hearth::Error on a URL it cannot use.
    OpenAIClient(const std::string& base_url, std::string api_key, double timeout_s = 600, RetryPolicy retry = {});
    ~OpenAIClient();
    OpenAIClient(const OpenAIClient&) = delete;
    OpenAIClient& operator=(const OpenAIClient&) = delete;

    // messages: OpenAI chat messages; extra: more request fields (temperature, seed ...).
    // Throws hearth::Error naming the endpoint on a transport error, an HTTP error status (with
    // the server's error message) or a body that is not a chat completion, once retries (above)
    // are spent; the message then says how many attempts were made.
    ChatReply chat(const std::string& model, const nlohmann::json& messages, int64_t max_tokens,
                   const nlohmann::json& extra = nlohmann::json::object());

    const std::string& base_url() const { return base_url_; }
    int last_attempts() const { return last_attempts_; }  // requests the last chat() sent

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string base_url_, path_prefix_, api_key_;
    RetryPolicy retry_;
    int last_attempts_ = 0;
};

// The wait a Retry-After header asks for, in seconds: its delta-seconds form (the form rate
// limiters send); -1 when absent or in the HTTP-date form, which is left to the backoff.
double parse_retry_after(const std::string& value);

// Splits "http://host:port/v1" into ("http://host:port", "/v1"); throws hearth::Error when it
// is not an http(s) URL with a host.
std::pair<std::string, std::string> split_base_url(const std::string& url);

}  // namespace hearth::client
