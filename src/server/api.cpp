#include "server/api.h"

#include "chat/grammar.h"
#include "chat/grammar_matcher.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>

namespace hearth::server {

ApiError invalid_request(std::string message, std::string param, std::string code) {
    return ApiError(400, std::move(message), "invalid_request_error", std::move(param), std::move(code));
}

std::string error_type_for_status(int status) {
    switch (status) {
        case 401: return "authentication_error";
        case 403: return "permission_error";
        case 404: return "not_found_error";
        case 429: return "rate_limit_error";
        default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

json error_body(const ApiError& e) {
    json err = json::object();
    err["message"] = e.what();
    err["type"] = e.type;
    err["param"] = e.param.empty() ? json(nullptr) : json(e.param);
    err["code"] = e.code.empty() ? json(nullptr) : json(e.code);
    return json{{"error", err}};
}

json error_body(int status, const std::string& message) {
    return error_body(ApiError(status, message, error_type_for_status(status)));
}

namespace {

json parse_body(std::string_view body) {
    json j;
    try {
        j = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
        // Not only parse_error: a number too large for a double is out_of_range (found by
        // fuzz/fuzz_api_request); either way the client sent JSON we cannot take.
        throw invalid_request(std::string("the request body is not valid JSON: ") + e.what(), "", "invalid_json");
    }
    if (!j.is_object()) throw invalid_request("the request body must be a JSON object", "", "invalid_json");
    return j;
}

bool present(const json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

std::string type_name(const json& v) { return v.type_name(); }

double get_number(const json& j, const char* key, double lo, double hi) {
    const json& v = j[key];
    if (!v.is_number())
        throw invalid_request(std::string("'") + key + "' must be a number, got " + type_name(v), key, "invalid_type");
    double x = v.get<double>();
    if (!(x >= lo && x <= hi))
        throw invalid_request(std::string("'") + key + "' must be between " + nlohmann::json(lo).dump() + " and " +
                                  nlohmann::json(hi).dump() + ", got " + v.dump(),
                              key, "invalid_value");
    return x;
}

int64_t get_int(const json& j, const char* key, int64_t lo, int64_t hi) {
    const json& v = j[key];
    if (!v.is_number_integer())
        throw invalid_request(std::string("'") + key + "' must be an integer, got " + v.dump(), key, "invalid_type");
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
        throw invalid_request(std::string("'") + key + "' is too large: " + v.dump(), key, "invalid_value");
    int64_t x = v.get<int64_t>();
    if (x < lo || x > hi)
        throw invalid_request(std::string("'") + key + "' must be between " + std::to_string(lo) + " and " +
                                  std::to_string(hi) + ", got " + v.dump(),
                              key, "invalid_value");
    return x;
}

bool get_bool(const json& j, const char* key) {
    const json& v = j[key];
    if (!v.is_boolean())
        throw invalid_request(std::string("'") + key + "' must be a boolean, got " + type_name(v), key, "invalid_type");
    return v.get<bool>();
}

constexpr int64_t kMaxTokensCap = int64_t{1} << 30;

// Fields both endpoints share: model, sampling, limits, stop, n, stream.
void parse_common(const json& j, CompletionRequest& r) {
    if (!present(j, "model")) throw invalid_request("'model' is required", "model", "missing_required_parameter");
    if (!j["model"].is_string() || j["model"].get<std::string>().empty())
        throw invalid_request("'model' must be a non-empty string", "model", "invalid_type");
    r.model = j["model"].get<std::string>();

    // OpenAI's semantics: temperature 1 and top_p 1 unless asked; no top-k / min-p
    // (hearth's CLI defaults follow llama.cpp instead). top_k, min_p and repeat_penalty are
    // accepted as extensions, as llama.cpp's server does.
    engine::SamplingParams& s = r.gen.sampling;
    s.temperature = 1.0f;
    s.top_p = 1.0f;
    s.top_k = 0;
    s.min_p = 0.0f;
    s.repeat_penalty = 1.0f;
    if (present(j, "temperature")) s.temperature = static_cast<float>(get_number(j, "temperature", 0.0, 2.0));
    if (present(j, "top_p")) {
        s.top_p = static_cast<float>(get_number(j, "top_p", 0.0, 1.0));
        if (s.top_p <= 0.0f) throw invalid_request("'top_p' must be greater than 0", "top_p", "invalid_value");
    }
    if (present(j, "top_k")) s.top_k = static_cast<int32_t>(get_int(j, "top_k", 0, 1 << 30));
    if (present(j, "min_p")) s.min_p = static_cast<float>(get_number(j, "min_p", 0.0, 1.0));
    if (present(j, "repeat_penalty")) s.repeat_penalty = static_cast<float>(get_number(j, "repeat_penalty", 0.0, 10.0));
    if (present(j, "presence_penalty")) s.presence_penalty = static_cast<float>(get_number(j, "presence_penalty", -2.0, 2.0));
    if (present(j, "frequency_penalty"))
        s.frequency_penalty = static_cast<float>(get_number(j, "frequency_penalty", -2.0, 2.0));
    for (const char* k : {"temperature", "top_p", "top_k", "min_p", "repeat_penalty", "presence_penalty",
                          "frequency_penalty", "max_tokens", "max_completion_tokens"})
        if (present(j, k)) r.given.emplace_back(k);
    if (present(j, "seed")) {
        s.seed = static_cast<uint64_t>(get_int(j, "seed", std::numeric_limits<int64_t>::min(),
                                                std::numeric_limits<int64_t>::max()));
        r.seed_given = true;
    } else {
        static std::mutex mu;
        static std::mt19937_64 rng{std::random_device{}()};
        std::lock_guard<std::mutex> lock(mu);
        s.seed = rng();
    }

    // llama.cpp's extension: keep generating past end-of-generation tokens.
    if (present(j, "ignore_eos")) r.gen.ignore_eos = get_bool(j, "ignore_eos");
    if (present(j, "n")) r.n = get_int(j, "n", 1, kMaxChoices);
    if (present(j, "stop")) {
        const json& v = j["stop"];
        std::vector<std::string> stop;
        if (v.is_string()) {
            stop.push_back(v.get<std::string>());
        } else if (v.is_array()) {
            if (v.size() > 4) throw invalid_request("'stop' may hold at most 4 sequences", "stop", "invalid_value");
            for (const auto& e : v) {
                if (!e.is_string())
                    throw invalid_request("'stop' must be a string or an array of strings", "stop", "invalid_type");
                stop.push_back(e.get<std::string>());
            }
        } else {
            throw invalid_request("'stop' must be a string or an array of strings", "stop", "invalid_type");
        }
        for (auto& s2 : stop)
            if (!s2.empty()) r.gen.stop.push_back(std::move(s2));
    }
    if (present(j, "stream")) r.stream = get_bool(j, "stream");
    if (present(j, "stream_options")) {
        const json& so = j["stream_options"];
        if (!so.is_object())
            throw invalid_request("'stream_options' must be an object", "stream_options", "invalid_type");
        if (!r.stream)
            throw invalid_request("'stream_options' is only allowed when 'stream' is true", "stream_options",
                                  "invalid_value");
        if (present(so, "include_usage")) {
            if (!so["include_usage"].is_boolean())
                throw invalid_request("'stream_options.include_usage' must be a boolean",
                                      "stream_options.include_usage", "invalid_type");
            r.include_usage = so["include_usage"].get<bool>();
        }
    }
    if (r.endpoint == Endpoint::Chat) {
        // Chat: logprobs is a switch and top_logprobs the number of alternatives (needs it on).
        const bool on = present(j, "logprobs") && get_bool(j, "logprobs");
        if (present(j, "top_logprobs")) {
            const int k = static_cast<int>(get_int(j, "top_logprobs", 0, kMaxTopLogprobs));
            if (!on)
                throw invalid_request("'top_logprobs' needs 'logprobs': true", "top_logprobs", "invalid_value");
            r.gen.top_logprobs = k;
        } else if (on) {
            r.gen.top_logprobs = 0;
        }
    } else if (present(j, "logprobs")) {
        // Legacy completions: logprobs is the number of alternatives per token.
        r.gen.top_logprobs = static_cast<int>(get_int(j, "logprobs", 0, kMaxTopLogprobs));
    }
}

void parse_max_tokens(const json& j, CompletionRequest& r, int64_t def) {
    r.gen.max_tokens = def;
    if (present(j, "max_tokens")) r.gen.max_tokens = get_int(j, "max_tokens", 1, kMaxTokensCap);
    // The newer name wins when both are given.
    if (present(j, "max_completion_tokens")) r.gen.max_tokens = get_int(j, "max_completion_tokens", 1, kMaxTokensCap);
}

// Message content: a string, null (assistant turns with tool calls), or an array of parts of
// which only text parts are understood; those are joined into one string.
json normalise_content(const json& c, size_t index) {
    const std::string param = "messages[" + std::to_string(index) + "].content";
    if (c.is_string() || c.is_null()) return c;
    if (!c.is_array()) throw invalid_request(param + " must be a string or an array of content parts", param, "invalid_type");
    std::string text;
    for (const auto& part : c) {
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
            throw invalid_request(param + ": each content part must be an object with a 'type'", param, "invalid_type");
        const std::string type = part["type"].get<std::string>();
        if (type != "text")
            throw invalid_request(param + ": content parts of type '" + type + "' are not supported (text only)", param,
                                  "unsupported_value");
        if (!part.contains("text") || !part["text"].is_string())
            throw invalid_request(param + ": a text part needs a string 'text'", param, "invalid_type");
        text += part["text"].get<std::string>();
    }
    return text;
}

// response_format {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}: the
// schema compiled to a grammar (chat/json_schema.h), so the answer always validates; "strict"
// changes nothing because generation is always held to the schema. Without a schema, any object.
std::shared_ptr<const chat::Grammar> json_schema_grammar(const json& rf) {
    if (!rf.contains("json_schema") || !rf["json_schema"].is_object())
        throw invalid_request("response_format 'json_schema' needs a 'json_schema' object with a 'name' and a 'schema'",
                              "response_format.json_schema", "invalid_type");
    const json& js = rf["json_schema"];
    if (!js.contains("name") || !js["name"].is_string() || js["name"].get<std::string>().empty())
        throw invalid_request("response_format.json_schema needs a 'name' string", "response_format.json_schema.name",
                              "invalid_type");
    if (js.contains("strict") && !js["strict"].is_boolean() && !js["strict"].is_null())
        throw invalid_request("response_format.json_schema.strict must be a boolean",
                              "response_format.json_schema.strict", "invalid_type");
    json schema = json{{"type", "object"}};
    if (js.contains("schema")) {
        if (!js["schema"].is_object())
            throw invalid_request("response_format.json_schema.schema must be a JSON schema object",
                                  "response_format.json_schema.schema", "invalid_type");
        schema = js["schema"];
    }
    try {
        return std::make_shared<const chat::Grammar>(chat::Grammar::from_schema(schema));
    } catch (const Error& e) {
        throw invalid_request(std::string("response_format.json_schema.schema: ") + e.what(),
                              "response_format.json_schema.schema", "invalid_value");
    }
}

void parse_tool_choice(const json& j, CompletionRequest& r) {
    if (present(j, "parallel_tool_calls")) {
        if (!j["parallel_tool_calls"].is_boolean())
            throw invalid_request("'parallel_tool_calls' must be a boolean", "parallel_tool_calls", "invalid_type");
        r.parallel_tool_calls = j["parallel_tool_calls"].get<bool>();
    }
    if (!present(j, "tool_choice")) return;
    const json& tc = j["tool_choice"];
    const char* shape = "'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", "
                        "\"function\": {\"name\": ...}}";
    auto need_tools = [&](const std::string& what) {
        if (r.tools.is_null())
            throw invalid_request("'tool_choice' " + what + " is only allowed when 'tools' are given", "tool_choice",
                                  "invalid_value");
    };
    if (tc.is_object()) {
        if (!tc.contains("function") || !tc["function"].is_object() || !tc["function"].contains("name") ||
            !tc["function"]["name"].is_string() || (tc.contains("type") && tc["type"] != "function"))
            throw invalid_request(shape, "tool_choice", "invalid_type");
        const std::string name = tc["function"]["name"].get<std::string>();
        need_tools("naming a function");
        bool offered = false;
        for (const auto& t : r.tools)
            offered = offered || (t.is_object() && t.contains("function") && t["function"].is_object() &&
                                  t["function"].value("name", json()) == name);
        if (!offered)
            throw invalid_request("tool_choice names the function '" + name + "', which is not among the tools",
                                  "tool_choice", "invalid_value");
        r.tool_choice = CompletionRequest::ToolChoice::Named;
        r.tool_name = name;
        return;
    }
    if (!tc.is_string()) throw invalid_request(shape, "tool_choice", "invalid_type");
    const std::string v = tc.get<std::string>();
    if (v == "none") {
        r.tools = nullptr;
    } else if (v == "auto") {
        need_tools("\"auto\"");
    } else if (v == "required") {
        need_tools("\"required\"");
        r.tool_choice = CompletionRequest::ToolChoice::Required;
    } else {
        throw invalid_request(shape, "tool_choice", "invalid_value");
    }
}

// chat_template_kwargs (as vLLM and llama-server take it) and OpenAI's reasoning_effort, which
// templates that read it (gpt-oss) get under that name; "none" also switches thinking off.
void parse_template_kwargs(const json& j, CompletionRequest& r) {
    if (present(j, "chat_template_kwargs")) {
        const json& kw = j["chat_template_kwargs"];
        if (!kw.is_object())
            throw invalid_request("'chat_template_kwargs' must be an object", "chat_template_kwargs", "invalid_type");
        for (const auto& [k, v] : kw.items()) {
            // These are the request's own fields; a kwarg must not replace them behind its back.
            if (k == "messages" || k == "tools" || k == "add_generation_prompt" || k == "bos_token" || k == "eos_token")
                throw invalid_request("chat_template_kwargs may not set '" + k + "'", "chat_template_kwargs." + k,
                                      "invalid_value");
            r.template_kwargs[k] = v;
        }
    }
    if (present(j, "reasoning_effort")) {
        const json& re = j["reasoning_effort"];
        static const char* kEfforts[] = {"none", "minimal", "low", "medium", "high"};
        bool ok = false;
        for (const char* e : kEfforts) ok = ok || (re.is_string() && re.get<std::string>() == e);
        if (!ok)
            throw invalid_request("'reasoning_effort' must be one of none, minimal, low, medium, high", "reasoning_effort",
                                  "invalid_value");
        if (!r.template_kwargs.contains("reasoning_effort")) r.template_kwargs["reasoning_effort"] = re;
        // "none" also turns thinking off in the templates that switch it with a flag of their
        // own (Qwen3 and GLM: enable_thinking; DeepSeek V3.1: thinking), unless the request's
        // chat_template_kwargs set those itself. Other efforts reach only templates that read
        // reasoning_effort (gpt-oss); thinking templates keep their default for them.
        if (re == "none")
            for (const char* k : {"enable_thinking", "thinking"})
                if (!r.template_kwargs.contains(k)) r.template_kwargs[k] = false;
    }
}

}  // namespace

CompletionRequest parse_chat_request(std::string_view body) {
    json j = parse_body(body);
    CompletionRequest r;
    r.endpoint = Endpoint::Chat;
    parse_common(j, r);
    parse_max_tokens(j, r, 0);
    if (!present(j, "messages")) throw invalid_request("'messages' is required", "messages", "missing_required_parameter");
    const json& msgs = j["messages"];
    if (!msgs.is_array()) throw invalid_request("'messages' must be an array", "messages", "invalid_type");
    if (msgs.empty()) throw invalid_request("'messages' must not be empty", "messages", "invalid_value");
    static const char* kRoles[] = {"system", "developer", "user", "assistant", "tool", "function"};
    for (size_t i = 0; i < msgs.size(); ++i) {
        const json& m = msgs[i];
        const std::string p = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw invalid_request(p + " must be an object", p, "invalid_type");
        if (!m.contains("role") || !m["role"].is_string())
            throw invalid_request(p + ".role is required and must be a string", p + ".role", "invalid_type");
        const std::string role = m["role"].get<std::string>();
        bool known = false;
        for (const char* k : kRoles) known = known || role == k;
        if (!known) throw invalid_request(p + ".role: unknown role '" + role + "'", p + ".role", "invalid_value");
        json out = m;
        if (!m.contains("content")) {
            if (role != "assistant")
                throw invalid_request(p + ".content is required", p + ".content", "missing_required_parameter");
            out["content"] = nullptr;
        } else {
            out["content"] = normalise_content(m["content"], i);
            if (out["content"].is_null() && role != "assistant")
                throw invalid_request(p + ".content must not be null", p + ".content", "invalid_type");
        }
        r.messages.push_back(std::move(out));
    }
    if (present(j, "tools")) {
        if (!j["tools"].is_array()) throw invalid_request("'tools' must be an array", "tools", "invalid_type");
        if (!j["tools"].empty()) r.tools = j["tools"];
    }
    parse_tool_choice(j, r);
    parse_template_kwargs(j, r);
    if (present(j, "response_format")) {
        const json& rf = j["response_format"];
        if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string())
            throw invalid_request("'response_format' must be an object with a 'type'", "response_format", "invalid_type");
        if (rf["type"].get<std::string>() == "grammar") {
            if (!rf.contains("grammar") || !rf["grammar"].is_string())
                throw invalid_request("response_format 'grammar' needs a 'grammar' string (GBNF text)",
                                      "response_format.grammar", "invalid_type");
            try {
                r.grammar = std::make_shared<const chat::Grammar>(chat::parse_gbnf(rf["grammar"].get<std::string>()));
            } catch (const Error& e) {
                throw invalid_request(std::string("response_format.grammar: ") + e.what(), "response_format.grammar",
                                      "invalid_value");
            }
        } else if (rf["type"].get<std::string>() == "json_object") {
            r.grammar = std::make_shared<const chat::Grammar>(chat::Grammar::from_schema(json{{"type", "object"}}));
        } else if (rf["type"].get<std::string>() == "json_schema") {
            r.grammar = json_schema_grammar(rf);
        } else if (rf["type"].get<std::string>() != "text") {
            throw invalid_request("response_format 'type' must be \"text\", \"json_object\", \"json_schema\" or "
                                  "\"grammar\", got \"" + rf["type"].get<std::string>() + "\"",
                                  "response_format.type", "invalid_value");
        }
        // Both constrain the whole output: a forced tool call cannot also be free-form JSON.
        if (rf["type"].get<std::string>() != "text" && r.tool_choice != CompletionRequest::ToolChoice::Auto)
            throw invalid_request("response_format '" + rf["type"].get<std::string>() +
                                      "' cannot be combined with tool_choice 'required' or a named function",
                                  "response_format", "invalid_value");
    }
    return r;
}

CompletionRequest parse_completion_request(std::string_view body) {
    json j = parse_body(body);
    CompletionRequest r;
    r.endpoint = Endpoint::Completion;
    parse_common(j, r);
    parse_max_tokens(j, r, 16);
    if (!present(j, "prompt")) throw invalid_request("'prompt' is required", "prompt", "missing_required_parameter");
    json p = j["prompt"];
    // A list holding one prompt is the same as that prompt; several are a batch.
    if (p.is_array() && p.size() == 1 && (p[0].is_string() || p[0].is_array())) p = json(p[0]);
    auto bad = [] {
        return invalid_request("'prompt' must be a string, an array of token ids, or a list of one of those (one "
                               "prompt per request)",
                               "prompt", "invalid_type");
    };
    if (p.is_string()) {
        r.prompt = p.get<std::string>();
        if (r.prompt.empty()) throw invalid_request("'prompt' must not be empty", "prompt", "invalid_value");
    } else if (p.is_array()) {
        if (p.empty()) throw invalid_request("'prompt' must not be empty", "prompt", "invalid_value");
        for (const auto& t : p) {
            if (!t.is_number_integer()) throw bad();
            int64_t id = t.get<int64_t>();
            if (id < 0 || id > std::numeric_limits<int32_t>::max())
                throw invalid_request("'prompt': token id " + t.dump() + " is out of range", "prompt", "invalid_value");
            r.prompt_tokens.push_back(static_cast<int32_t>(id));
        }
        r.prompt_is_tokens = true;
    } else {
        throw bad();
    }
    if (present(j, "echo") && get_bool(j, "echo"))
        throw invalid_request("'echo' is not supported yet", "echo", "unsupported_parameter");
    if (present(j, "suffix")) throw invalid_request("'suffix' is not supported", "suffix", "unsupported_parameter");
    if (present(j, "best_of") && get_int(j, "best_of", 1, 128) != 1)
        throw invalid_request("only best_of=1 is supported", "best_of", "unsupported_value");
    return r;
}

void apply_defaults(CompletionRequest& r, const SamplingDefaults& d) {
    auto given = [&](const char* k) { return std::find(r.given.begin(), r.given.end(), k) != r.given.end(); };
    engine::SamplingParams& s = r.gen.sampling;
    if (d.temperature && !given("temperature")) s.temperature = static_cast<float>(*d.temperature);
    if (d.top_p && !given("top_p")) s.top_p = static_cast<float>(*d.top_p);
    if (d.top_k && !given("top_k")) s.top_k = static_cast<int32_t>(*d.top_k);
    if (d.min_p && !given("min_p")) s.min_p = static_cast<float>(*d.min_p);
    if (d.repeat_penalty && !given("repeat_penalty")) s.repeat_penalty = static_cast<float>(*d.repeat_penalty);
    if (d.presence_penalty && !given("presence_penalty")) s.presence_penalty = static_cast<float>(*d.presence_penalty);
    if (d.frequency_penalty && !given("frequency_penalty"))
        s.frequency_penalty = static_cast<float>(*d.frequency_penalty);
    if (d.max_tokens && !given("max_tokens") && !given("max_completion_tokens")) r.gen.max_tokens = *d.max_tokens;
}

std::string finish_reason(const std::string& engine_reason) {
    if (engine_reason == "stop") return "stop";
    return "length";  // "length", "context"
}

json usage_json(const Usage& u) {
    json j{{"prompt_tokens", u.prompt}, {"completion_tokens", u.completion}, {"total_tokens", u.prompt + u.completion}};
    if (u.reasoning >= 0) j["completion_tokens_details"] = {{"reasoning_tokens", u.reasoning}};
    return j;
}

namespace {
json envelope(const ResponseMeta& m, const char* object) {
    return json{{"id", m.id}, {"object", object}, {"created", m.created}, {"model", m.model},
                {"system_fingerprint", "hearth-" HEARTH_VERSION}};
}
json finish_json(const std::string& f) { return f.empty() ? json(nullptr) : json(f); }
}  // namespace

json chat_completion(const ResponseMeta& m, const std::vector<ChoiceOut>& choices, const Usage& u) {
    json r = envelope(m, "chat.completion");
    r["choices"] = json::array();
    for (size_t i = 0; i < choices.size(); ++i)
        r["choices"].push_back(json{{"index", i},
                                    {"message", choices[i].message.is_null()
                                                    ? json{{"role", "assistant"}, {"content", choices[i].text}}
                                                    : choices[i].message},
                                    {"logprobs", choices[i].logprobs},
                                    {"finish_reason", finish_json(choices[i].finish)}});
    r["usage"] = usage_json(u);
    return r;
}

json chat_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u) {
    return chat_completion(m, std::vector<ChoiceOut>{{text, finish, nullptr}}, u);
}

json chat_chunk(const ResponseMeta& m, const json& delta, const std::string& finish, size_t index,
                const json& logprobs) {
    json r = envelope(m, "chat.completion.chunk");
    json choice = {{"index", index}, {"delta", delta}, {"logprobs", logprobs}, {"finish_reason", finish_json(finish)}};
    r["choices"] = json::array({choice});
    return r;
}

json text_completion(const ResponseMeta& m, const std::vector<ChoiceOut>& choices, const Usage& u) {
    json r = envelope(m, "text_completion");
    r["choices"] = json::array();
    for (size_t i = 0; i < choices.size(); ++i)
        r["choices"].push_back(json{{"text", choices[i].text},
                                    {"index", i},
                                    {"logprobs", choices[i].logprobs},
                                    {"finish_reason", finish_json(choices[i].finish)}});
    r["usage"] = usage_json(u);
    return r;
}

json text_completion(const ResponseMeta& m, const std::string& text, const std::string& finish, const Usage& u) {
    return text_completion(m, std::vector<ChoiceOut>{{text, finish, nullptr}}, u);
}

json text_chunk(const ResponseMeta& m, const std::string& text, const std::string& finish, size_t index,
                const json& logprobs) {
    json r = envelope(m, "text_completion");
    json choice = {{"text", text}, {"index", index}, {"logprobs", logprobs}, {"finish_reason", finish_json(finish)}};
    r["choices"] = json::array({choice});
    return r;
}

namespace {
// A token's text for the JSON. A token may hold part of a character: each byte that does not
// belong to a complete UTF-8 sequence becomes U+FFFD here, so that two such tokens that would
// print alike are seen to (legacy top_logprobs keys); `bytes` keeps the exact bytes.
std::string token_string(const std::string& piece) {
    std::string out;
    size_t i = 0;
    while (i < piece.size()) {
        const auto c = static_cast<unsigned char>(piece[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = len > 0 && i + len <= piece.size();
        for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(piece[i + k]) & 0xC0) == 0x80;
        if (ok && len > 1) {
            // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
            uint32_t cp = c & (0x7F >> len);
            for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(piece[i + k]) & 0x3F);
            static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        }
        if (ok) {
            out.append(piece, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

json byte_array(const std::string& piece) {
    json b = json::array();
    for (unsigned char c : piece) b.push_back(static_cast<int>(c));
    return b;
}
}  // namespace

json chat_logprobs(const tokenizer::Tokenizer& tok, const std::vector<engine::TokenLogprob>& lp) {
    json content = json::array();
    for (const auto& t : lp) {
        const std::string piece = tok.token_to_piece(t.id);
        json top = json::array();
        for (const auto& c : t.top) {
            const std::string p = tok.token_to_piece(c.id);
            top.push_back(json{{"token", token_string(p)}, {"logprob", c.logprob}, {"bytes", byte_array(p)}});
        }
        content.push_back(json{{"token", token_string(piece)},
                               {"logprob", t.logprob},
                               {"bytes", byte_array(piece)},
                               {"top_logprobs", top}});
    }
    return json{{"content", content}, {"refusal", nullptr}};
}

json completion_logprobs(const tokenizer::Tokenizer& tok, const std::vector<engine::TokenLogprob>& lp,
                         int64_t& offset) {
    json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
    for (const auto& t : lp) {
        const std::string piece = tok.token_to_piece(t.id);
        tokens.push_back(token_string(piece));
        values.push_back(t.logprob);
        json top = json::object();
        for (const auto& c : t.top) {
            const std::string p = token_string(tok.token_to_piece(c.id));
            if (!top.contains(p)) top[p] = c.logprob;  // two ids with one text: the likelier one
        }
        tops.push_back(std::move(top));
        offsets.push_back(offset);
        offset += static_cast<int64_t>(piece.size());
    }
    return json{{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

EmbeddingRequest parse_embedding_request(std::string_view body) {
    json j = parse_body(body);
    EmbeddingRequest r;
    if (!present(j, "model")) throw invalid_request("'model' is required", "model", "missing_required_parameter");
    if (!j["model"].is_string() || j["model"].get<std::string>().empty())
        throw invalid_request("'model' must be a non-empty string", "model", "invalid_type");
    r.model = j["model"].get<std::string>();
    if (!present(j, "input")) throw invalid_request("'input' is required", "input", "missing_required_parameter");
    const json& in = j["input"];
    auto bad = [] {
        return invalid_request("'input' must be a string, an array of strings, an array of token ids, or an array of "
                               "token-id arrays",
                               "input", "invalid_type");
    };
    auto tokens_of = [&](const json& a, const std::string& where) {
        EmbeddingInput e;
        e.is_tokens = true;
        if (a.empty()) throw invalid_request("'" + where + "' must not be empty", "input", "invalid_value");
        for (const auto& t : a) {
            if (!t.is_number_integer()) throw bad();
            const int64_t id = t.get<int64_t>();
            if (id < 0 || id > std::numeric_limits<int32_t>::max())
                throw invalid_request("'" + where + "': token id " + t.dump() + " is out of range", "input",
                                      "invalid_value");
            e.tokens.push_back(static_cast<int32_t>(id));
        }
        return e;
    };
    auto text_of = [&](const json& t, const std::string& where) {
        if (t.get<std::string>().empty())
            throw invalid_request("'" + where + "' must not be an empty string", "input", "invalid_value");
        EmbeddingInput e;
        e.text = t.get<std::string>();
        return e;
    };
    if (in.is_string()) {
        r.inputs.push_back(text_of(in, "input"));
    } else if (in.is_array()) {
        if (in.empty()) throw invalid_request("'input' must not be empty", "input", "invalid_value");
        if (in.size() > kMaxEmbeddingInputs)
            throw invalid_request("'input' may hold at most " + std::to_string(kMaxEmbeddingInputs) + " inputs", "input",
                                  "invalid_value");
        if (in[0].is_number_integer()) {
            r.inputs.push_back(tokens_of(in, "input"));
        } else {
            for (size_t i = 0; i < in.size(); ++i) {
                const std::string where = "input[" + std::to_string(i) + "]";
                if (in[i].is_string())
                    r.inputs.push_back(text_of(in[i], where));
                else if (in[i].is_array())
                    r.inputs.push_back(tokens_of(in[i], where));
                else
                    throw bad();
            }
        }
    } else {
        throw bad();
    }
    if (present(j, "encoding_format")) {
        const json& f = j["encoding_format"];
        if (!f.is_string() || (f.get<std::string>() != "float" && f.get<std::string>() != "base64"))
            throw invalid_request("'encoding_format' must be \"float\" or \"base64\"", "encoding_format",
                                  "invalid_value");
        r.base64 = f.get<std::string>() == "base64";
    }
    if (present(j, "dimensions")) r.dimensions = get_int(j, "dimensions", 1, std::numeric_limits<int32_t>::max());
    if (present(j, "user") && !j["user"].is_string())
        throw invalid_request("'user' must be a string", "user", "invalid_type");
    return r;
}

std::string base64_encode(std::string_view bytes) {
    static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    const size_t rest = bytes.size() - i;
    if (rest > 0) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
        if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

json embedding_response(const std::string& model, const std::vector<std::vector<float>>& vectors, bool base64,
                        int64_t prompt_tokens) {
    json data = json::array();
    for (size_t i = 0; i < vectors.size(); ++i) {
        json e;
        if (base64) {
            // float32, little-endian, as OpenAI sends it (numpy.frombuffer(..., dtype="<f4")).
            std::string raw(vectors[i].size() * 4, '\0');
            for (size_t k = 0; k < vectors[i].size(); ++k) {
                uint32_t bits;
                std::memcpy(&bits, &vectors[i][k], 4);
                for (int b = 0; b < 4; ++b) raw[k * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
            }
            e = base64_encode(raw);
        } else {
            e = vectors[i];
        }
        data.push_back(json{{"object", "embedding"}, {"index", i}, {"embedding", std::move(e)}});
    }
    return json{{"object", "list"},
                {"data", data},
                {"model", model},
                {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

json usage_chunk(const ResponseMeta& m, Endpoint e, const Usage& u) {
    json r = envelope(m, e == Endpoint::Chat ? "chat.completion.chunk" : "text_completion");
    r["choices"] = json::array();
    r["usage"] = usage_json(u);
    return r;
}

std::string sse_event(const json& j) {
    // Invalid UTF-8 (it should not occur: the engine emits whole characters) is replaced, not thrown.
    return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string new_id(std::string_view prefix) {
    static const char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static std::mutex mu;
    static std::mt19937_64 rng{std::random_device{}()};
    std::string id(prefix);
    std::lock_guard<std::mutex> lock(mu);
    for (int i = 0; i < 24; ++i) id += kAlnum[rng() % (sizeof(kAlnum) - 1)];
    return id;
}

}  // namespace hearth::server
