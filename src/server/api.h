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

namespace hearth::tokenizer {
class Tokenizer;
}

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
    // chat: tool_choice "none" leaves `tools` null: OpenAI's "none" means the model will not call
    // a tool, so it is not offered any (and no call markup is parsed). "auto" (the default when
    // tools are given) offers them and turns the model's call markup into message.tool_calls.
    // "required" and a named function ({"type": "function", "function": {"name": ...}}) force
    // the model's call markup with a grammar (chat/tool_call_grammar.h, built per model by
    // ModelWorker::tool_call_grammar): one call, or several when parallel_tool_calls is true
    // (the default), of any offered tool or of the named one.
    // chat: further variables for the chat template (chat_template_kwargs, e.g. enable_thinking;
    // reasoning_effort, whose "none" also sets enable_thinking and thinking to false unless
    // chat_template_kwargs set them), passed to it as extra keyword arguments.
    json template_kwargs = json::object();
    enum class ToolChoice { Auto, Required, Named } tool_choice = ToolChoice::Auto;
    std::string tool_name;           // ToolChoice::Named: the function
    bool parallel_tool_calls = true;
    std::string prompt;             // completion: text prompt
    std::vector<int32_t> prompt_tokens;  // completion: prompt given as token ids
    bool prompt_is_tokens = false;
    // max_tokens <= 0: until the context is full (chat default); completions default to 16 as OpenAI's.
    engine::GenerateOptions gen;
    bool seed_given = false;
    // `n`: choices generated for this request (1..kMaxChoices); choice i draws with seed + i.
    int64_t n = 1;
    // gen.top_logprobs >= 0 when logprobs were asked for (chat `logprobs: true` with
    // `top_logprobs`, completions `logprobs: k`).
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    std::vector<std::string> given;  // the sampling/limit fields the body set (for SamplingDefaults)
    // response_format json_object, json_schema, or {"type": "grammar", "grammar": GBNF} (a hearth
    // extension), compiled; also the forced tool-call grammar (tool_choice required / named).
    std::shared_ptr<const chat::Grammar> grammar;
};

inline constexpr int64_t kMaxChoices = 16;
inline constexpr int kMaxTopLogprobs = 20;

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
    int64_t reasoning = -1;  // chat: completion tokens spent reasoning; < 0: not reported
};
json usage_json(const Usage& u);

struct ResponseMeta {
    std::string id;  // chatcmpl-... / cmpl-...
    int64_t created = 0;
    std::string model;
};

// One choice of a response: its text, OpenAI finish_reason, and logprobs JSON (null: none).
struct ChoiceOut {
    std::string text;
    std::string finish;
    json logprobs = nullptr;
    json message = nullptr;  // chat: the whole message (ChatOutput::message()); null: {role, content: text}
};

json chat_completion(const ResponseMeta& m, const std::vector<ChoiceOut>& choices, const Usage& u);
json chat_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u);
// One chat.completion.chunk for choice `index`. delta: {"role": ...} / {"content": ...} / {};
// finish "" -> null; logprobs: {"content": [...]} for the tokens this chunk carries, or null.
json chat_chunk(const ResponseMeta& m, const json& delta, const std::string& finish, size_t index = 0,
                const json& logprobs = nullptr);
json text_completion(const ResponseMeta& m, const std::vector<ChoiceOut>& choices, const Usage& u);
json text_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u);
json text_chunk(const ResponseMeta& m, const std::string& text, const std::string& finish, size_t index = 0,
                const json& logprobs = nullptr);

// Chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token",
// "logprob", "bytes"}]}]}. A token's string is its decoded piece (as the content is made of);
// `bytes` are that piece's UTF-8 bytes, which matter when a token holds part of a character.
json chat_logprobs(const tokenizer::Tokenizer& tok, const std::vector<engine::TokenLogprob>& lp);
// Legacy completions logprobs: {"tokens", "token_logprobs", "top_logprobs" (one {token: logprob}
// object per token), "text_offset"}. Offsets are byte offsets into the choice's text; `offset`
// is where these tokens start and is advanced past them (streams continue it chunk to chunk).
json completion_logprobs(const tokenizer::Tokenizer& tok, const std::vector<engine::TokenLogprob>& lp,
                         int64_t& offset);

// POST /v1/embeddings. Inputs are strings or token-id arrays (one of them, or a list).
struct EmbeddingInput {
    std::string text;
    std::vector<int32_t> tokens;
    bool is_tokens = false;
};
struct EmbeddingRequest {
    std::string model;
    std::vector<EmbeddingInput> inputs;
    bool base64 = false;                // encoding_format "base64": little-endian float32 bytes
    std::optional<int64_t> dimensions;  // only the model's own width is accepted (checked later)
};
inline constexpr size_t kMaxEmbeddingInputs = 2048;
EmbeddingRequest parse_embedding_request(std::string_view body);
// {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}.
json embedding_response(const std::string& model, const std::vector<std::vector<float>>& vectors, bool base64,
                        int64_t prompt_tokens);
std::string base64_encode(std::string_view bytes);
// The last chunk when stream_options.include_usage is set: no choices, the usage.
json usage_chunk(const ResponseMeta& m, Endpoint e, const Usage& u);

// "data: <json>\n\n"
std::string sse_event(const json& j);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// A fresh id with the given prefix and 24 random alphanumerics.
std::string new_id(std::string_view prefix);

}  // namespace hearth::server
