#pragma once
// The OpenAI-compatible API surface without sockets: request bodies parsed and checked
// into CompletionRequest, errors in OpenAI's shape, and the JSON of responses and stream
// chunks. Everything here is pure, so the unit tests cover it without a server.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/grammar_matcher.h"
#include "engine/session.h"

namespace hearth::server {

using json = nlohmann::ordered_json;

// An error a request caused, mapped to an HTTP status and OpenAI's error object:
// {"error": {"message", "type", "param", "code"}}.
struct ApiError : std::runtime_error {
    ApiError(int status, std::string message, std::string type, std::string param = {}, std::string code = {})
        : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
          code(std::move(code)) {}
    int status;
    std::string type;   // invalid_request_error, authentication_error, not_found_error, ...
    std::string param;  // the offending field ("" -> null)
    std::string code;   // machine-readable ("" -> null)
};

ApiError invalid_request(std::string message, std::string param = {}, std::string code = {});  // 400
json error_body(const ApiError& e);
json error_body(int status, const std::string& message);  // for statuses without an ApiError
// The OpenAI error type for an HTTP status (400 invalid_request_error, 401 authentication_error, ...).
std::string error_type_for_status(int status);

enum class Endpoint { Chat, Completion };

// Per-model defaults ([models.sampling] in the config) for fields a request leaves out.
struct SamplingDefaults {
    std::optional<double> temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
    std::optional<int64_t> top_k, max_tokens;
};

struct CompletionRequest {
    Endpoint endpoint = Endpoint::Chat;
    std::string model;
    json messages = json::array();  // chat: messages, content normalised to a string (or null)
    json tools;                     // chat: null or the request's tools array (passed to the template)
    std::string prompt;             // completion: text prompt
    std::vector<int32_t> prompt_tokens;  // completion: prompt given as token ids
    bool prompt_is_tokens = false;
    // max_tokens <= 0: until the context is full (chat default); completions default to 16 as OpenAI's.
    engine::GenerateOptions gen;
    bool seed_given = false;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    std::vector<std::string> given;  // the sampling/limit fields the body set (for SamplingDefaults)
    // response_format {"type": "grammar", "grammar": GBNF} (a hearth extension), compiled.
    std::shared_ptr<const chat::Grammar> grammar;
};

// Fills the fields the request did not give from the model's defaults.
void apply_defaults(CompletionRequest& r, const SamplingDefaults& d);

// Parse and check a request body; throw ApiError (400) naming the field on any problem.
CompletionRequest parse_chat_request(std::string_view body);
CompletionRequest parse_completion_request(std::string_view body);

// OpenAI's finish_reason for an engine one ("stop", "length"; the context filling up is "length").
std::string finish_reason(const std::string& engine_reason);

struct Usage {
    int64_t prompt = 0;
    int64_t completion = 0;
};
json usage_json(const Usage& u);

struct ResponseMeta {
    std::string id;  // chatcmpl-... / cmpl-...
    int64_t created = 0;
    std::string model;
};

json chat_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u);
// One chat.completion.chunk. delta: {"role": ...} / {"content": ...} / {}; finish "" -> null.
json chat_chunk(const ResponseMeta& m, const json& delta, const std::string& finish);
json text_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u);
json text_chunk(const ResponseMeta& m, const std::string& text, const std::string& finish);
// The last chunk when stream_options.include_usage is set: no choices, the usage.
json usage_chunk(const ResponseMeta& m, Endpoint e, const Usage& u);

// "data: <json>\n\n"
std::string sse_event(const json& j);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// A fresh id with the given prefix and 24 random alphanumerics.
std::string new_id(std::string_view prefix);

}  // namespace hearth::server
