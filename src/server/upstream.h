#pragma once
// Requests for models a configured [[upstreams]] entry lists are passed to that
// OpenAI-compatible server: same path under its base URL, same body (the "model" rewritten
// when it came through a route), its status and body sent back; streams are passed through
// chunk by chunk as they arrive. The upstream's own key (api_key_file) replaces the client's.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/config.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace hearth::server {

// What came back, for the audit log.
struct UpstreamOutcome {
    int status = 0;
    std::string body;   // the whole response body (the raw event stream when streaming)
    std::string error;  // transport error, "" if the upstream answered
    bool cancelled = false;
};

class Upstream {
public:
    explicit Upstream(const UpstreamConfig& c);  // throws hearth::Error for a bad base_url / key file

    const std::string& name() const { return name_; }
    const std::vector<std::string>& models() const { return models_; }
    bool serves(const std::string& model) const;
    const std::string& base_url() const { return base_url_; }

    // Forwards `body` to base_url + `api_path` (e.g. "/chat/completions") and answers `res`.
    // `done` is called exactly once when the exchange has ended (for streams: after the last
    // chunk, or when the client went away).
    void forward(const std::string& api_path, const std::string& body, bool stream, httplib::Response& res,
                 std::function<void(const UpstreamOutcome&)> done) const;

private:
    std::string name_, base_url_, origin_, prefix_, api_key_;
    std::vector<std::string> models_;
};

// Text and token counts from an OpenAI response body (JSON or an event stream), best effort.
struct UpstreamUsage {
    std::string text;
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    std::string finish_reason;
};
UpstreamUsage read_upstream_body(const std::string& body, bool stream);

}  // namespace hearth::server
