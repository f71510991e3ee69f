// The OpenAI API layer without sockets: request parsing, error mapping, response shapes,
// API keys and metrics text.
#include <gtest/gtest.h>

#include "core/error.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/server.h"

using namespace hearth::server;

namespace {

ApiError chat_error(const std::string& body) {
    try {
        parse_chat_request(body);
    } catch (const ApiError& e) {
        return e;
    }
    ADD_FAILURE() << "no error for " << body;
    return ApiError(0, "", "");
}

ApiError completion_error(const std::string& body) {
    try {
        parse_completion_request(body);
    } catch (const ApiError& e) {
        return e;
    }
    ADD_FAILURE() << "no error for " << body;
    return ApiError(0, "", "");
}

}  // namespace

TEST(ServerApi, ParsesChatRequest) {
    auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"system","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"hel"},{"type":"text","text":"lo"}]}],
        "max_tokens":7,"temperature":0,"top_p":0.5,"seed":42,"stop":["a","b"],"stream":true,
        "stream_options":{"include_usage":true},"n":1,"user":"ignored"})");
    EXPECT_EQ(r.endpoint, Endpoint::Chat);
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[1]["content"], "hello");  // text parts joined
    EXPECT_EQ(r.gen.max_tokens, 7);
    EXPECT_EQ(r.gen.sampling.temperature, 0.0f);
    EXPECT_EQ(r.gen.sampling.top_p, 0.5f);
    EXPECT_EQ(r.gen.sampling.seed, 42u);
    EXPECT_TRUE(r.seed_given);
    EXPECT_EQ(r.gen.stop, (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
}

TEST(ServerApi, ChatDefaultsFollowOpenAI) {
    auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(r.gen.max_tokens, 0);  // until the context is full
    EXPECT_EQ(r.gen.sampling.temperature, 1.0f);
    EXPECT_EQ(r.gen.sampling.top_p, 1.0f);
    EXPECT_EQ(r.gen.sampling.top_k, 0);
    EXPECT_EQ(r.gen.sampling.min_p, 0.0f);
    EXPECT_FALSE(r.stream);
    EXPECT_FALSE(r.seed_given);
    EXPECT_TRUE(r.gen.stop.empty());
}

TEST(ServerApi, MaxCompletionTokensWins) {
    auto r = parse_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":9})");
    EXPECT_EQ(r.gen.max_tokens, 9);
}

TEST(ServerApi, StopAsStringAndEmptyIgnored) {
    auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END"})");
    EXPECT_EQ(r.gen.stop, std::vector<std::string>{"END"});
    r = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["", "Q"]})");
    EXPECT_EQ(r.gen.stop, std::vector<std::string>{"Q"});
}

TEST(ServerApi, ChatErrorsNameTheField) {
    struct Case {
        const char* body;
        const char* param;
    };
    const Case cases[] = {
        {R"({"messages":[{"role":"user","content":"x"}]})", "model"},
        {R"({"model":"m"})", "messages"},
        {R"({"model":"m","messages":[]})", "messages"},
        {R"({"model":"m","messages":"hi"})", "messages"},
        {R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role"},
        {R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})", "messages[0].role"},
        {R"({"model":"m","messages":[{"role":"user"}]})", "messages[0].content"},
        {R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3})", "temperature"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_p":0})", "top_p"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5})", "max_tokens"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":17})", "n"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})", "stop"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})",
         "stream_options"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"seed":"1"})", "seed"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "top_logprobs"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}})",
         "response_format.type"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}})",
         "response_format.json_schema"},
        {R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
         R"("response_format":{"type":"json_schema","json_schema":{"name":"v","schema":{"$ref":"#/x"}}}})",
         "response_format.json_schema.schema"},
    };
    for (const auto& c : cases) {
        ApiError e = chat_error(c.body);
        EXPECT_EQ(e.status, 400) << c.body;
        EXPECT_EQ(e.type, "invalid_request_error") << c.body;
        EXPECT_EQ(e.param, c.param) << c.body;
    }
}

TEST(ServerApi, MalformedJsonIs400) {
    // The last: a number beyond double's range (nlohmann's out_of_range, not parse_error; found by
    // fuzz/fuzz_api_request, kept as fuzz/seeds_api/regress_number_overflow.json).
    for (const char* body : {"", "{", "{\"model\":", "[1,2]", "\"text\"", "{\"model\":\"m\",}",
                             "{\"max_tokens\": 1e999999}"}) {
        ApiError e = chat_error(body);
        EXPECT_EQ(e.status, 400) << body;
        EXPECT_EQ(e.code, "invalid_json") << body;
    }
}

TEST(ServerApi, ParsesCompletionPrompts) {
    auto r = parse_completion_request(R"({"model":"m","prompt":"once upon"})");
    EXPECT_EQ(r.endpoint, Endpoint::Completion);
    EXPECT_EQ(r.prompt, "once upon");
    EXPECT_FALSE(r.prompt_is_tokens);
    EXPECT_EQ(r.gen.max_tokens, 16);  // OpenAI's default for completions
    r = parse_completion_request(R"({"model":"m","prompt":["only one"]})");
    EXPECT_EQ(r.prompt, "only one");
    r = parse_completion_request(R"({"model":"m","prompt":[1,2,3]})");
    EXPECT_TRUE(r.prompt_is_tokens);
    EXPECT_EQ(r.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
    r = parse_completion_request(R"({"model":"m","prompt":[[4,5]]})");
    EXPECT_EQ(r.prompt_tokens, (std::vector<int32_t>{4, 5}));
}

TEST(ServerApi, CompletionErrors) {
    for (const char* body : {R"({"model":"m"})", R"({"model":"m","prompt":""})", R"({"model":"m","prompt":["a","b"]})",
                             R"({"model":"m","prompt":[-1]})", R"({"model":"m","prompt":{"x":1}})",
                             R"({"model":"m","prompt":"x","echo":true})", R"({"model":"m","prompt":"x","suffix":"y"})"}) {
        ApiError e = completion_error(body);
        EXPECT_EQ(e.status, 400) << body;
    }
}

TEST(ServerApi, ErrorBodyHasOpenAIShape) {
    json j = error_body(invalid_request("bad", "temperature", "invalid_value"));
    ASSERT_TRUE(j.contains("error"));
    EXPECT_EQ(j["error"]["message"], "bad");
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
    EXPECT_EQ(j["error"]["param"], "temperature");
    EXPECT_EQ(j["error"]["code"], "invalid_value");
    j = error_body(404, "nope");
    EXPECT_EQ(j["error"]["type"], "not_found_error");
    EXPECT_TRUE(j["error"]["param"].is_null());
    EXPECT_TRUE(j["error"]["code"].is_null());
    EXPECT_EQ(error_type_for_status(401), "authentication_error");
    EXPECT_EQ(error_type_for_status(429), "rate_limit_error");
    EXPECT_EQ(error_type_for_status(500), "server_error");
}

TEST(ServerApi, ResponseShapes) {
    ResponseMeta m{"chatcmpl-x", 123, "tiny"};
    json c = chat_completion(m, "hi", "stop", Usage{3, 2});
    EXPECT_EQ(c["object"], "chat.completion");
    EXPECT_EQ(c["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(c["choices"][0]["message"]["content"], "hi");
    EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(c["usage"]["total_tokens"], 5);
    json k = chat_chunk(m, {{"content", "h"}}, "");
    EXPECT_EQ(k["object"], "chat.completion.chunk");
    EXPECT_TRUE(k["choices"][0]["finish_reason"].is_null());
    json u = usage_chunk(m, Endpoint::Chat, Usage{1, 1});
    EXPECT_TRUE(u["choices"].empty());
    EXPECT_EQ(u["usage"]["prompt_tokens"], 1);
    json t = text_completion(m, "abc", "length", Usage{1, 3});
    EXPECT_EQ(t["object"], "text_completion");
    EXPECT_EQ(t["choices"][0]["text"], "abc");
    EXPECT_EQ(sse_event(json{{"a", 1}}), "data: {\"a\":1}\n\n");
    EXPECT_EQ(finish_reason("context"), "length");
    EXPECT_EQ(finish_reason("length"), "length");
    EXPECT_EQ(finish_reason("stop"), "stop");
    EXPECT_EQ(new_id("cmpl-").size(), 5u + 24u);
    EXPECT_NE(new_id("a"), new_id("a"));
}

TEST(ServerAuth, KeysAreCheckedByDigest) {
    ApiKeys keys;
    EXPECT_TRUE(keys.empty());
    keys.add("sk-one");
    keys.add("sk-two");
    EXPECT_TRUE(keys.check("sk-one"));
    EXPECT_TRUE(keys.check("sk-two"));
    EXPECT_FALSE(keys.check("sk-on"));
    EXPECT_FALSE(keys.check(""));
    EXPECT_THROW(keys.add(""), hearth::Error);
    // SHA-256("abc")
    auto d = ApiKeys::sha256("abc");
    EXPECT_EQ(d[0], 0xba);
    EXPECT_EQ(d[31], 0xad);
}

TEST(ServerAuth, BearerHeader) {
    EXPECT_EQ(ApiKeys::bearer("Bearer sk-1").value_or(""), "sk-1");
    EXPECT_EQ(ApiKeys::bearer("bearer   sk-1 ").value_or(""), "sk-1");
    EXPECT_FALSE(ApiKeys::bearer("Basic abc").has_value());
    EXPECT_FALSE(ApiKeys::bearer("Bearer").has_value());
    EXPECT_FALSE(ApiKeys::bearer("Bearer ").has_value());
    EXPECT_FALSE(ApiKeys::bearer("Bearersk-1").has_value());
}

TEST(ServerMetrics, PrometheusText) {
    Metrics m;
    m.count_request("/v1/chat/completions", 200);
    m.count_request("/v1/chat/completions", 200);
    m.count_request("/v1/chat/completions", 400);
    m.add_tokens("tiny", 10, 4);
    m.observe_ttft("tiny", 0.02);
    m.observe_ttft("tiny", 100.0);
    EXPECT_EQ(m.requests("/v1/chat/completions", 200), 2u);
    std::string t = m.render({{"tiny", 3, 1}});
    EXPECT_NE(t.find("hearth_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 2\n"), std::string::npos) << t;
    EXPECT_NE(t.find("hearth_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_prompt_tokens_total{model=\"tiny\"} 10\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_completion_tokens_total{model=\"tiny\"} 4\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_queue_depth{model=\"tiny\"} 3\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"0.01\"} 0\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"0.025\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"30\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"+Inf\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("hearth_time_to_first_token_seconds_count{model=\"tiny\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("# TYPE hearth_time_to_first_token_seconds histogram\n"), std::string::npos);
    EXPECT_EQ(prom_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(ServerRoutes, EndpointLabels) {
    EXPECT_EQ(Server::endpoint_label("/v1/chat/completions"), "/v1/chat/completions");
    EXPECT_EQ(Server::endpoint_label("/v1/models/tiny"), "/v1/models/{id}");
    EXPECT_EQ(Server::endpoint_label("/health"), "/health");
    EXPECT_EQ(Server::endpoint_label("/../../etc/passwd"), "other");
}

TEST(ServerApi, ModelDefaultsFillOnlyWhatTheRequestLeftOut) {
    SamplingDefaults d;
    d.temperature = 0.25;
    d.top_k = 7;
    d.max_tokens = 99;
    CompletionRequest r = parse_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.9,"max_completion_tokens":5})");
    apply_defaults(r, d);
    EXPECT_FLOAT_EQ(r.gen.sampling.temperature, 0.9f);  // given
    EXPECT_EQ(r.gen.sampling.top_k, 7);                 // default
    EXPECT_EQ(r.gen.max_tokens, 5);                     // max_completion_tokens counts as given
    CompletionRequest c = parse_completion_request(R"({"model":"m","prompt":"x"})");
    apply_defaults(c, d);
    EXPECT_FLOAT_EQ(c.gen.sampling.temperature, 0.25f);
    EXPECT_EQ(c.gen.max_tokens, 99);
    EXPECT_FLOAT_EQ(c.gen.sampling.top_p, 1.0f);  // no default set: OpenAI's
}

TEST(ServerApi, ToolChoiceAndReasoningEffort) {
    const std::string head =
        R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}])";
    CompletionRequest r = parse_chat_request(head + R"(,"tool_choice":"required"})");
    EXPECT_EQ(r.tool_choice, CompletionRequest::ToolChoice::Required);
    EXPECT_TRUE(r.parallel_tool_calls);
    r = parse_chat_request(head + R"(,"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false})");
    EXPECT_EQ(r.tool_choice, CompletionRequest::ToolChoice::Named);
    EXPECT_EQ(r.tool_name, "f");
    EXPECT_FALSE(r.parallel_tool_calls);
    EXPECT_EQ(parse_chat_request(head + "}").tool_choice, CompletionRequest::ToolChoice::Auto);
    EXPECT_EQ(chat_error(head + R"(,"tool_choice":{"type":"function","function":{"name":"g"}}})").param, "tool_choice");
    EXPECT_EQ(chat_error(head + R"(,"tool_choice":"required","response_format":{"type":"grammar","grammar":"root ::= \"x\""}})")
                  .param,
              "response_format");
    EXPECT_EQ(chat_error(head + R"(,"parallel_tool_calls":1})").param, "parallel_tool_calls");

    // reasoning_effort "none" switches thinking off unless chat_template_kwargs say otherwise.
    r = parse_chat_request(head + R"(,"reasoning_effort":"none"})");
    EXPECT_EQ(r.template_kwargs["enable_thinking"], false);
    EXPECT_EQ(r.template_kwargs["thinking"], false);
    EXPECT_EQ(r.template_kwargs["reasoning_effort"], "none");
    r = parse_chat_request(head + R"(,"reasoning_effort":"none","chat_template_kwargs":{"enable_thinking":true}})");
    EXPECT_EQ(r.template_kwargs["enable_thinking"], true);
    r = parse_chat_request(head + R"(,"reasoning_effort":"high"})");
    EXPECT_FALSE(r.template_kwargs.contains("enable_thinking"));
    EXPECT_EQ(r.template_kwargs["reasoning_effort"], "high");
}

// Structured output compiles to a grammar at parse time (the schema's errors are 400s above).
TEST(ServerApi, ResponseFormatJsonModesCompileToAGrammar) {
    auto none = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(none.grammar, nullptr);
    auto obj = parse_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})");
    EXPECT_NE(obj.grammar, nullptr);
    auto schema = parse_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema",)"
        R"("json_schema":{"name":"v","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}},)"
        R"("required":["a"],"additionalProperties":false}}}})");
    EXPECT_NE(schema.grammar, nullptr);
    auto text = parse_chat_request(
        R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}})");
    EXPECT_EQ(text.grammar, nullptr);
}
