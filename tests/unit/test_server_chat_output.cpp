// The server's per-choice chat output: OpenAI deltas and the final message from generated
// text in each family's markup, however the text is split into pieces. The recorded outputs
// and their expected fields are the chat parser's fixtures (tests/fixtures/chat_outputs).
#include <gtest/gtest.h>

#include <fstream>

#include "model/model.h"
#include "server/chat_output.h"
#include "tokenizer/tokenizer.h"

using hearth::chat::OutputFormat;
using hearth::server::ChatOutput;
using json = nlohmann::ordered_json;

namespace {

json load_cases() {
    std::ifstream f(std::string(HEARTH_FIXTURES) + "/chat_outputs/tool_calls.json");
    EXPECT_TRUE(f.good());
    return json::parse(f)["cases"];
}

OutputFormat fmt_of(const std::string& s) {
    if (s == "hermes") return OutputFormat::Hermes;
    if (s == "deepseek") return OutputFormat::DeepSeek;
    if (s == "glm") return OutputFormat::GLM;
    if (s == "kimi") return OutputFormat::Kimi;
    if (s == "llama3") return OutputFormat::Llama3;
    throw std::runtime_error("unknown format " + s);
}

// A tool list for cases recorded without one: only GLM reads the tools (parameter types).
json tools_of(const json& c) {
    if (c.contains("tools")) return c["tools"];
    return json::array({{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", json::object()}}}}});
}

struct Streamed {
    json message;
    std::string reasoning, content;  // the deltas' text, concatenated
    json tool_calls = json::array();  // rebuilt from the deltas as the openai client does
    std::string finish;
};

// Feeds the chunks; rebuilds what a streaming client would see from the deltas.
Streamed run(const json& c, const std::vector<std::string>& chunks) {
    ChatOutput out(fmt_of(c["format"]), c.value("starts_in_reasoning", false), tools_of(c));
    Streamed s;
    auto take = [&](const std::vector<json>& deltas) {
        for (const auto& d : deltas) {
            EXPECT_EQ(d.size(), 1u) << d.dump();  // one field per delta
            if (d.contains("reasoning_content")) s.reasoning += d["reasoning_content"].get<std::string>();
            if (d.contains("content")) s.content += d["content"].get<std::string>();
            if (d.contains("tool_calls")) {
                for (const auto& tc : d["tool_calls"]) {
                    size_t i = tc["index"];
                    if (i >= s.tool_calls.size()) {
                        EXPECT_EQ(i, s.tool_calls.size()) << "indices in order";
                        s.tool_calls.push_back({{"id", tc["id"]}, {"type", tc["type"]},
                                                {"function", {{"name", tc["function"]["name"]}, {"arguments", ""}}}});
                    }
                    s.tool_calls[i]["function"]["arguments"] =
                        s.tool_calls[i]["function"]["arguments"].get<std::string>() +
                        tc["function"]["arguments"].get<std::string>();
                }
            }
        }
    };
    for (const auto& ch : chunks) take(out.push(ch));
    take(out.finish());
    s.message = out.message();
    s.finish = out.finish_reason("stop");
    return s;
}

// The streamed deltas agree with the final message.
void check_consistent(const Streamed& s) {
    const json& m = s.message;
    EXPECT_EQ(m["role"], "assistant");
    EXPECT_EQ(s.reasoning, m.value("reasoning_content", std::string()));
    EXPECT_EQ(s.content, m["content"].is_null() ? std::string() : m["content"].get<std::string>());
    EXPECT_EQ(s.tool_calls, m.value("tool_calls", json::array()));
    EXPECT_EQ(s.finish, m.contains("tool_calls") ? "tool_calls" : "stop");
}

// Streamed calls get fresh ids (they are announced before their arguments are known), so
// runs over different splits agree on everything else.
json without_ids(json m) {
    if (m.contains("tool_calls"))
        for (auto& tc : m["tool_calls"]) tc.erase("id");
    return m;
}

}  // namespace

TEST(ServerChatOutput, RecordedOutputsAnySplit) {
    const json cases = load_cases();
    ASSERT_GE(cases.size(), 20u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c["name"].get<std::string>());
        const std::string text = c["text"];
        const json& e = c["expected"];
        Streamed whole = run(c, {text});
        check_consistent(whole);
        const json& m = whole.message;
        EXPECT_EQ(m.value("reasoning_content", std::string()), e["reasoning_content"].get<std::string>());
        if (e["tool_calls"].empty()) {
            EXPECT_EQ(m["content"], e["content"]);
            EXPECT_FALSE(m.contains("tool_calls"));
        } else {
            // OpenAI's shape: content is null when the model wrote nothing besides the calls.
            EXPECT_EQ(m["content"], e["content"].get<std::string>().empty() ? json(nullptr) : e["content"]);
            ASSERT_EQ(m["tool_calls"].size(), e["tool_calls"].size());
            for (size_t i = 0; i < e["tool_calls"].size(); ++i) {
                const json& tc = m["tool_calls"][i];
                EXPECT_EQ(tc["type"], "function");
                EXPECT_EQ(tc["function"]["name"], e["tool_calls"][i][0]);
                EXPECT_EQ(json::parse(tc["function"]["arguments"].get<std::string>()), e["tool_calls"][i][1]);
            }
        }

        std::vector<std::string> bytes;
        for (char ch : text) bytes.emplace_back(1, ch);
        Streamed b = run(c, bytes);
        check_consistent(b);
        EXPECT_EQ(without_ids(b.message), without_ids(m)) << "byte at a time";
        for (size_t k = 0; k <= text.size(); ++k) {
            Streamed s = run(c, {text.substr(0, k), text.substr(k)});
            check_consistent(s);
            ASSERT_EQ(without_ids(s.message), without_ids(m)) << "split at " << k;
        }
    }
}

TEST(ServerChatOutput, NoToolsOfferedKeepsMarkupAsContent) {
    const std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>";
    for (json tools : {json(nullptr), json::array()}) {
        ChatOutput out(OutputFormat::Hermes, false, tools);
        std::string streamed;
        for (char ch : text)
            for (const auto& d : out.push(std::string(1, ch))) streamed += d["content"].get<std::string>();
        for (const auto& d : out.finish()) streamed += d["content"].get<std::string>();
        EXPECT_EQ(streamed, text);
        EXPECT_EQ(out.message()["content"], text);
        EXPECT_FALSE(out.message().contains("tool_calls"));
        EXPECT_EQ(out.finish_reason("stop"), "stop");
    }
    // Llama 3's bare JSON call is also only a call when tools were offered.
    ChatOutput llama(OutputFormat::Llama3, false, nullptr);
    llama.push("{\"name\": \"a\", \"parameters\": {}}");
    llama.finish();
    EXPECT_EQ(llama.message()["content"], "{\"name\": \"a\", \"parameters\": {}}");
}

TEST(ServerChatOutput, LengthStaysLengthWithCalls) {
    const json tools = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
    ChatOutput out(OutputFormat::Hermes, false, tools);
    out.push("<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>");
    out.finish();
    EXPECT_TRUE(out.called_tools());
    EXPECT_EQ(out.finish_reason("stop"), "tool_calls");
    EXPECT_EQ(out.finish_reason("length"), "length");
}

TEST(ServerChatOutput, CountsReasoningTokens) {
    // Fed as a tokenizer would cut it: the tags are single tokens for Qwen3.
    const std::vector<std::string> tokens = {"<think>", "\n", "Two", " plus", " two", ".", "\n", "</think>",
                                             "\n\n", "Four", "."};
    ChatOutput out(OutputFormat::Hermes, false, nullptr);
    for (const auto& t : tokens) out.push(t);
    out.finish();
    EXPECT_EQ(out.reasoning_tokens(), 8);  // <think> through </think>
    EXPECT_EQ(out.message()["reasoning_content"], "Two plus two.");
    EXPECT_EQ(out.message()["content"], "Four.");

    // A closing tag cut in two tokens: both count.
    ChatOutput cut(OutputFormat::Hermes, false, nullptr);
    for (std::string t : {"<think>", "x", "</", "think>", "Hi"}) cut.push(t);
    cut.finish();
    EXPECT_EQ(cut.reasoning_tokens(), 4);

    // The prompt opened the trace (QwQ, DeepSeek-R1): counting starts with the first token.
    ChatOutput inside(OutputFormat::DeepSeek, true, nullptr);
    for (std::string t : {"Hm", "m", ".", "</think>", "\n\n", "Yes"}) inside.push(t);
    inside.finish();
    EXPECT_EQ(inside.reasoning_tokens(), 4);

    // No trace: none; pieces of several tokens count with their number.
    ChatOutput plain(OutputFormat::Hermes, false, nullptr);
    plain.push("Hello", 3);
    plain.push(" world", 2);
    plain.finish();
    EXPECT_EQ(plain.reasoning_tokens(), 0);
    ChatOutput multi(OutputFormat::Hermes, false, nullptr);
    multi.push("<think>a b", 3);
    multi.push("c</think>", 2);
    multi.push("Done", 1);
    multi.finish();
    EXPECT_EQ(multi.reasoning_tokens(), 5);
}

TEST(ServerChatOutput, FinishIsIdempotent) {
    ChatOutput out(OutputFormat::Hermes, false, nullptr);
    auto d = out.push("Hi <tool");  // no tools offered: nothing is held back for markup
    std::string s;
    for (const auto& x : d) s += x["content"].get<std::string>();
    for (const auto& x : out.finish()) s += x["content"].get<std::string>();
    EXPECT_EQ(s, "Hi <tool");
    EXPECT_TRUE(out.finish().empty());
}

TEST(ServerChatOutput, CountsReasoningTokensFromIds) {
    auto m = hearth::model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf");
    const auto& tok = m->tokenizer();
    const std::string trace = "<think>\nadd them up\n</think>";
    const auto ids = tok.encode(trace + "\n\nThe sum is 4.", false, false);
    // Expected: the tokens up to the first whose text reaches the end of the closing tag.
    int64_t want = 0;
    std::string text;
    for (int32_t id : ids) {
        if (text.size() >= trace.size()) break;
        text += tok.token_to_piece(id);
        ++want;
    }
    ASSERT_GE(text.size(), trace.size());
    ASSERT_LT(want, static_cast<int64_t>(ids.size()));
    EXPECT_EQ(hearth::server::count_reasoning_tokens(OutputFormat::Hermes, false, tok, ids), want);
    EXPECT_EQ(hearth::server::count_reasoning_tokens(OutputFormat::Hermes, false, tok,
                                                     tok.encode("No trace here.", false, false)),
              0);
}

TEST(ServerChatOutput, StreamsArgumentsInPieces) {
    const json tools = json::array({{{"type", "function"}, {"function", {{"name", "get_weather"}}}}});
    const std::string call1 = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris, \\\"FR\\\"\", \"days\": [1, 2]}}\n</tool_call>";
    const std::string call2 = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>";
    const std::string text = "<think>hm</think>\n\n" + call1 + "\n" + call2;
    for (OutputFormat fmt : {OutputFormat::Hermes}) {
        ChatOutput out(fmt, false, tools);
        std::vector<json> deltas;
        size_t announced_at = 0, fed = 0;  // bytes fed when call 0 was announced
        for (char ch : text) {
            ++fed;
            for (auto& d : out.push(std::string(1, ch))) {
                if (d.contains("tool_calls") && d["tool_calls"][0].contains("id") && d["tool_calls"][0]["index"] == 0)
                    announced_at = fed;
                deltas.push_back(std::move(d));
            }
        }
        for (auto& d : out.finish()) deltas.push_back(std::move(d));
        // Announced once the name was complete, long before the call closed.
        EXPECT_GT(announced_at, text.find("get_weather"));
        EXPECT_LT(announced_at, text.find("Paris"));
        std::vector<std::string> args(2);
        std::vector<int> pieces(2, 0);
        std::vector<std::string> ids(2);
        for (const auto& d : deltas) {
            if (!d.contains("tool_calls")) continue;
            const json& tc = d["tool_calls"][0];
            const size_t i = tc["index"];
            ASSERT_LT(i, 2u);
            if (tc.contains("id")) {  // the first delta of a call: everything but the rest of the arguments
                EXPECT_TRUE(ids[i].empty()) << "announced once";
                ids[i] = tc["id"];
                EXPECT_EQ(tc["type"], "function");
                EXPECT_EQ(tc["function"]["name"], "get_weather");
            } else {
                EXPECT_FALSE(ids[i].empty()) << "pieces only after the announcement";
                EXPECT_FALSE(tc["function"].contains("name"));
            }
            args[i] += tc["function"]["arguments"].get<std::string>();
            ++pieces[i];
        }
        EXPECT_GT(pieces[0], 10) << "the arguments came in pieces";
        const json m = out.message();
        ASSERT_EQ(m["tool_calls"].size(), 2u);
        for (size_t i = 0; i < 2; ++i) {
            EXPECT_EQ(args[i], m["tool_calls"][i]["function"]["arguments"]);
            EXPECT_EQ(ids[i], m["tool_calls"][i]["id"]);
        }
        EXPECT_EQ(args[0], "{\"city\":\"Paris, \\\"FR\\\"\",\"days\":[1,2]}");
        EXPECT_EQ(m["reasoning_content"], "hm");
        EXPECT_TRUE(m["content"].is_null());
    }
}

TEST(ServerChatOutput, ArgumentsBeforeNameGoOutWhole) {
    const json tools = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
    ChatOutput out(OutputFormat::Hermes, false, tools);
    std::vector<json> before_end;
    for (char ch : std::string("<tool_call>{\"arguments\": {\"a\": 1}, \"name\": \"f\"}</tool_call>"))
        for (auto& d : out.push(std::string(1, ch))) before_end.push_back(d);
    EXPECT_TRUE(before_end.empty()) << "nothing is certain before the name";
    auto fin = out.finish();
    ASSERT_EQ(fin.size(), 1u);
    EXPECT_EQ(fin[0]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
    EXPECT_EQ(fin[0]["tool_calls"][0]["function"]["name"], "f");
}
