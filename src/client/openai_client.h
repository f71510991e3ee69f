#pragma once
// A small client for OpenAI-compatible chat completion servers (vLLM, SGLang, llama.cpp's
// llama-server, hearth serve): one non-streaming POST /chat/completions per call.
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

class OpenAIClient {
public:
    // base_url: "http://host:port/v1" (https too); api_key: sent as a Bearer token when not empty.
    // Throws hearth::Error on a URL it cannot use.
    OpenAIClient(const std::string& base_url, std::string api_key, double timeout_s = 600);
    ~OpenAIClient();
    OpenAIClient(const OpenAIClient&) = delete;
    OpenAIClient& operator=(const OpenAIClient&) = delete;

    // messages: OpenAI chat messages; extra: more request fields (temperature, seed ...).
    // Throws hearth::Error naming the endpoint on a transport error, an HTTP error status (with
    // the server's error message) or a body that is not a chat completion.
    ChatReply chat(const std::string& model, const nlohmann::json& messages, int64_t max_tokens,
                   const nlohmann::json& extra = nlohmann::json::object());

    const std::string& base_url() const { return base_url_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string base_url_, path_prefix_, api_key_;
};

// Splits "http://host:port/v1" into ("http://host:port", "/v1"); throws hearth::Error when it
// is not an http(s) URL with a host.
std::pair<std::string, std::string> split_base_url(const std::string& url);

}  // namespace hearth::client
