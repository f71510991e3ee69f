// The chat request fields that shape the model's output: tool_choice, chat_template_kwargs
// and reasoning_effort; and the usage / message JSON that carries reasoning and tool calls.
#include <gtest/gtest.h>

#include "server/api.h"

using namespace hearth::server;

namespace {

const std::string kTools =
    R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])";

CompletionRequest parse(const std::string& fields) {
    return parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}])" +
                              (fields.empty() ? "" : "," + fields) + "}");
}

ApiError error_of(const std::string& fields) {
    try {
        parse(fields);
    } catch (const ApiError& e) {
        return e;
    }
    ADD_FAILURE() << "accepted: " << fields;
    return ApiError(0, "", "");
}

}  // namespace

TEST(ServerChatRequest, ToolChoice) {
    EXPECT_TRUE(parse(kTools).tools.is_array());  // default "auto"
    EXPECT_TRUE(parse(kTools + R"(,"tool_choice":"auto")").tools.is_array());
    EXPECT_TRUE(parse(kTools + R"(,"tool_choice":"none")").tools.is_null());  // not offered
    EXPECT_TRUE(parse(R"("tool_choice":"none")").tools.is_null());

    // "required" and a named function are recorded; ModelWorker builds the grammar that forces them.
    EXPECT_EQ(parse(kTools + R"(,"tool_choice":"required")").tool_choice, CompletionRequest::ToolChoice::Required);
    auto named = parse(kTools + R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})");
    EXPECT_EQ(named.tool_choice, CompletionRequest::ToolChoice::Named);
    EXPECT_EQ(named.tool_name, "get_weather");
    EXPECT_EQ(error_of(kTools + R"(,"tool_choice":{"type":"function","function":{"name":"nope"}})").code,
              "invalid_value");
    EXPECT_EQ(error_of(R"("tool_choice":"required")").param, "tool_choice");  // no tools to choose from
    EXPECT_EQ(error_of(kTools + R"(,"tool_choice":{"type":"function"})").code, "invalid_type");
    EXPECT_EQ(error_of(kTools + R"(,"tool_choice":"always")").code, "invalid_value");
    EXPECT_EQ(error_of(kTools + R"(,"tool_choice":3)").code, "invalid_type");
    EXPECT_EQ(error_of(R"("tool_choice":"auto")").param, "tool_choice");  // no tools to choose from
}

TEST(ServerChatRequest, TemplateKwargs) {
    auto r = parse(R"("chat_template_kwargs":{"enable_thinking":false,"custom":[1]})");
    EXPECT_EQ(r.template_kwargs.dump(), R"({"enable_thinking":false,"custom":[1]})");
    EXPECT_TRUE(parse("").template_kwargs.empty());
    EXPECT_EQ(error_of(R"("chat_template_kwargs":true)").param, "chat_template_kwargs");
    ApiError e = error_of(R"("chat_template_kwargs":{"add_generation_prompt":false})");
    EXPECT_EQ(e.param, "chat_template_kwargs.add_generation_prompt");

    EXPECT_EQ(parse(R"("reasoning_effort":"low")").template_kwargs.dump(), R"({"reasoning_effort":"low"})");
    // An explicit template kwarg wins over the top-level field.
    EXPECT_EQ(parse(R"("reasoning_effort":"low","chat_template_kwargs":{"reasoning_effort":"high"})")
                  .template_kwargs["reasoning_effort"],
              "high");
    EXPECT_EQ(error_of(R"("reasoning_effort":"max")").param, "reasoning_effort");
}

TEST(ServerChatRequest, ResponseCarriesMessageAndReasoningTokens) {
    ResponseMeta m{"chatcmpl-x", 1, "m"};
    ChoiceOut c{"raw <tool_call>...", "tool_calls", nullptr,
                json{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array()}}};
    Usage u{10, 5};
    u.reasoning = 3;
    json r = chat_completion(m, std::vector<ChoiceOut>{c}, u);
    EXPECT_EQ(r["choices"][0]["message"], c.message);
    EXPECT_EQ(r["choices"][0]["finish_reason"], "tool_calls");
    EXPECT_EQ(r["usage"]["completion_tokens_details"]["reasoning_tokens"], 3);
    // Completions (no reasoning figure) keep the plain usage object.
    EXPECT_FALSE(usage_json(Usage{10, 5}).contains("completion_tokens_details"));
    EXPECT_EQ(chat_completion(m, "hi", "stop", Usage{1, 1})["choices"][0]["message"]["content"], "hi");
}
