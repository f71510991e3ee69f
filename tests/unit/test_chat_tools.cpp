// Tool-call parsing on recorded outputs of each family's markup, fed whole, one byte at a
// time, and split in two at every byte boundary: the result must not depend on the split.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "chat/output_parser.h"

using hearth::chat::OutputFormat;
using hearth::chat::OutputParser;
using hearth::chat::ParsedOutput;
using json = nlohmann::ordered_json;

namespace {

json load(const std::string& name) {
    std::ifstream f(std::string(HEARTH_FIXTURES) + "/chat_outputs/" + name);
    EXPECT_TRUE(f.good()) << name;
    return json::parse(f);
}

OutputFormat fmt_of(const std::string& s) {
    if (s == "hermes") return OutputFormat::Hermes;
    if (s == "deepseek") return OutputFormat::DeepSeek;
    if (s == "glm") return OutputFormat::GLM;
    if (s == "kimi") return OutputFormat::Kimi;
    if (s == "llama3") return OutputFormat::Llama3;
    throw std::runtime_error("unknown format " + s);
}

// Feeds the chunks; checks that the streamed deltas add up to the final result.
ParsedOutput run(const json& c, const std::vector<std::string>& chunks) {
    OutputParser p(fmt_of(c["format"]), c.value("starts_in_reasoning", false), c.value("tools", json()));
    std::string r, t;
    for (const auto& ch : chunks) {
        auto d = p.push(ch);
        r += d.reasoning;
        t += d.content;
    }
    auto d = p.finish();
    r += d.reasoning;
    t += d.content;
    EXPECT_EQ(r, p.result().reasoning_content);
    EXPECT_EQ(t, p.result().content);
    return p.result();
}

std::string dump(const ParsedOutput& o) { return o.to_message().dump(); }

}  // namespace

TEST(ChatTools, RecordedOutputsWholeAndSplit) {
    json fx = load("tool_calls.json");
    ASSERT_GE(fx["cases"].size(), 20u);
    for (const auto& c : fx["cases"]) {
        SCOPED_TRACE(c["name"].get<std::string>());
        const std::string text = c["text"];
        ParsedOutput whole = run(c, {text});
        const json& e = c["expected"];
        EXPECT_EQ(whole.reasoning_content, e["reasoning_content"].get<std::string>());
        EXPECT_EQ(whole.content, e["content"].get<std::string>());
        ASSERT_EQ(whole.tool_calls.size(), e["tool_calls"].size());
        std::set<std::string> ids;
        for (size_t i = 0; i < whole.tool_calls.size(); ++i) {
            const auto& got = whole.tool_calls[i];
            const auto& want = e["tool_calls"][i];
            EXPECT_EQ(got.name, want[0].get<std::string>());
            EXPECT_EQ(json::parse(got.arguments), want[1]) << got.arguments;
            if (want.size() > 2) EXPECT_EQ(got.id, want[2].get<std::string>());
            else EXPECT_EQ(got.id.rfind("call_", 0), 0u) << got.id;
            ids.insert(got.id);
        }
        EXPECT_EQ(ids.size(), whole.tool_calls.size()) << "ids must be unique";

        std::vector<std::string> bytes;
        for (char ch : text) bytes.emplace_back(1, ch);
        EXPECT_EQ(dump(run(c, bytes)), dump(whole)) << "byte at a time";
        for (size_t k = 0; k <= text.size(); ++k)
            ASSERT_EQ(dump(run(c, {text.substr(0, k), text.substr(k)})), dump(whole)) << "split at " << k;
    }
}

TEST(ChatTools, DetectsFormatFromTemplates) {
    const std::string dir = std::string(HEARTH_FIXTURES) + "/chat/templates/";
    auto fmt = [&](const std::string& f) {
        std::ifstream in(dir + f);
        EXPECT_TRUE(in.good()) << f;
        std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return hearth::chat::detect_output_format(s);
    };
    EXPECT_EQ(fmt("Qwen-Qwen2.5-7B-Instruct.jinja"), OutputFormat::Hermes);
    EXPECT_EQ(fmt("Qwen-Qwen3-0.6B.jinja"), OutputFormat::Hermes);
    EXPECT_EQ(fmt("deepseek-ai-DeepSeek-V3.1.jinja"), OutputFormat::DeepSeek);
    EXPECT_EQ(fmt("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"), OutputFormat::DeepSeek);
    EXPECT_EQ(fmt("GLM-4.6.jinja"), OutputFormat::GLM);
    EXPECT_EQ(fmt("moonshotai-Kimi-K2.jinja"), OutputFormat::Kimi);
    EXPECT_EQ(fmt("Kimi-K2-Thinking.jinja"), OutputFormat::Kimi);
    EXPECT_EQ(fmt("meta-llama-Llama-3.1-8B-Instruct.jinja"), OutputFormat::Llama3);
}

TEST(ChatTools, MessageShape) {
    auto o = hearth::chat::parse_output(OutputFormat::Hermes, false,
                                        "<think>x</think>Hi<tool_call>{\"name\":\"f\",\"arguments\":{\"a\":1}}</tool_call>");
    json m = o.to_message();
    EXPECT_EQ(m["role"], "assistant");
    EXPECT_EQ(m["content"], "Hi");
    EXPECT_EQ(m["reasoning_content"], "x");
    EXPECT_EQ(m["tool_calls"][0]["type"], "function");
    EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "f");
    EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
}

// A model's raw bytes need not be UTF-8: arguments built from them (GLM's key/value pairs)
// come out as valid JSON with U+FFFD instead of throwing out of the parser.
TEST(ChatTools, GlmArgumentsWithInvalidUtf8StayValidJson) {
    OutputParser p(OutputFormat::GLM, false, json());
    p.push("<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Be\xff" "ijing</arg_value>\n</tool_call>");
    p.finish();
    const auto& calls = p.result().tool_calls;
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].name, "get_weather");
    auto args = json::parse(calls[0].arguments);
    EXPECT_EQ(args["city"], "Be\xef\xbf\xbdijing");
}
