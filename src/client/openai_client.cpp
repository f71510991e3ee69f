#include "client/openai_client.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "server/http.h"

namespace hearth::client {

std::pair<std::string, std::string> split_base_url(const std::string& url) {
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos || (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0))
        throw Error("endpoint \"" + url + "\": expected http://host:port/v1 or https://...");
    const size_t slash = url.find('/', scheme + 3);
    std::string origin = url.substr(0, slash), path = slash == std::string::npos ? "" : url.substr(slash);
    if (origin.size() <= scheme + 3) throw Error("endpoint \"" + url + "\": no host");
    while (!path.empty() && path.back() == '/') path.pop_back();
    return {origin, path};
}

struct OpenAIClient::Impl {
    httplib::Client cli;
    explicit Impl(const std::string& origin) : cli(origin) {}
};

double parse_retry_after(const std::string& value) {
    const size_t b = value.find_first_not_of(" \t");
    if (b == std::string::npos) return -1;
    const size_t e = value.find_last_not_of(" \t");
    const std::string v = value.substr(b, e - b + 1);
    if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return -1;
    return std::stod(v);
}

OpenAIClient::OpenAIClient(const std::string& base_url, std::string api_key, double timeout_s, RetryPolicy retry)
    : base_url_(base_url), api_key_(std::move(api_key)), retry_(retry) {
    if (!(timeout_s > 0)) throw Error("endpoint timeout must be positive");
    auto [origin, path] = split_base_url(base_url);
    path_prefix_ = path;
    impl_ = std::make_unique<Impl>(origin);
    if (!impl_->cli.is_valid()) throw Error("endpoint \"" + base_url + "\": cannot make a client for it");
    const auto secs = static_cast<time_t>(timeout_s);
    const auto usecs = static_cast<time_t>((timeout_s - std::floor(timeout_s)) * 1e6);
    impl_->cli.set_connection_timeout(std::min<time_t>(secs, 10), secs >= 10 ? 0 : usecs);
    impl_->cli.set_read_timeout(secs, usecs);
    impl_->cli.set_write_timeout(secs, usecs);
    if (!api_key_.empty()) impl_->cli.set_bearer_token_auth(api_key_);
}

OpenAIClient::~OpenAIClient() = default;

ChatReply OpenAIClient::chat(const std::string& model, const nlohmann::json& messages, int64_t max_tokens,
                             const nlohmann::json& extra) {
    nlohmann::json body = {{"model", model}, {"messages", messages}, {"max_tokens", max_tokens}, {"stream", false}};
    for (auto it = extra.begin(); it != extra.end(); ++it) body[it.key()] = it.value();
    const std::string url = base_url_ + "/chat/completions";
    const std::string payload = body.dump();
    std::string reply_body;
    nlohmann::json j;
    last_attempts_ = 0;
    for (int attempt = 0;; ++attempt) {
        ++last_attempts_;
        auto res = impl_->cli.Post(path_prefix_ + "/chat/completions", payload, "application/json");
        const std::string tries = last_attempts_ > 1 ? " (after " + std::to_string(last_attempts_) + " attempts)" : "";
        double wait = -1;
        bool retryable = false;
        if (!res) {
            const auto err = res.error();
            retryable = err == httplib::Error::Connection || err == httplib::Error::ConnectionTimeout;
            if (!retryable || attempt >= retry_.max_retries) throw Error(url + ": " + httplib::to_string(err) + tries);
        } else {
            j = nlohmann::json::parse(res->body, nullptr, false);
            if (res->status == 200) {
                reply_body = std::move(res->body);
                break;
            }
            retryable = res->status == 429 || res->status >= 500;
            if (!retryable || attempt >= retry_.max_retries) {
                std::string msg = res->body.substr(0, 300);
                if (!j.is_discarded() && j.contains("error") && j["error"].is_object())
                    msg = j["error"].value("message", msg);
                throw Error(url + ": HTTP " + std::to_string(res->status) + ": " + msg + tries);
            }
            if (res->has_header("Retry-After")) wait = parse_retry_after(res->get_header_value("Retry-After"));
        }
        if (wait < 0) wait = retry_.base_delay_s * std::pow(2.0, attempt);
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(wait, retry_.max_delay_s)));
    }
    if (j.is_discarded() || !j.is_object() || !j.contains("choices") || !j["choices"].is_array() ||
        j["choices"].empty() || !j["choices"][0].is_object() || !j["choices"][0].contains("message") ||
        !j["choices"][0]["message"].is_object())
        throw Error(url + ": the reply is not a chat completion: " + reply_body.substr(0, 200));
    const auto& choice = j["choices"][0];
    const auto& msg = choice["message"];
    ChatReply r;
    auto text = [](const nlohmann::json& o, const char* k) {
        return o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : std::string();
    };
    r.content = text(msg, "content");
    r.reasoning_content = text(msg, "reasoning_content");
    if (r.reasoning_content.empty()) r.reasoning_content = text(msg, "reasoning");
    r.finish_reason = text(choice, "finish_reason");
    if (j.contains("usage") && j["usage"].is_object()) {
        r.prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
        r.completion_tokens = j["usage"].value("completion_tokens", int64_t{0});
    }
    r.raw = std::move(j);
    return r;
}

}  // namespace hearth::client
