// The forced-tool-call grammar of each family (chat/tool_call_grammar.h): texts it derives
// parse back through chat::OutputParser into calls of offered tools whose arguments follow
// the tool's schema (checked by the schema validator), and texts it must refuse are refused.
// The families' templates are the recorded ones in tests/fixtures/chat/templates.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>

#include "chat/json_schema.h"
#include "chat/output_parser.h"
#include "chat/tool_call_grammar.h"
#include "core/error.h"

using namespace hearth::chat;
using json = nlohmann::ordered_json;

namespace {

std::string template_text(const std::string& file) {
    std::ifstream in(std::string(HEARTH_FIXTURES) + "/chat/templates/" + file);
    EXPECT_TRUE(in.good()) << file;
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const json kTools = json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city"]}}},
  {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "number"}, "exact": {"type": "boolean"}},
    "required": ["a", "b"]}}},
  {"type": "function", "function": {"name": "now"}}
])");

const json& schema_of(const std::string& name) {
    static const json any_object = {{"type", "object"}};
    for (const auto& t : kTools)
        if (t["function"]["name"] == name) return t["function"].contains("parameters") ? t["function"]["parameters"] : any_object;
    ADD_FAILURE() << "no tool " << name;
    return any_object;
}

bool accepts(const Grammar& g, const std::string& text) {
    GrammarMatcher m(std::make_shared<const Grammar>(g));
    return m.accept_bytes(text) && m.complete();
}

// A random text of the grammar: a walk over printable bytes, then the shortest way to close it.
std::string sample(const Grammar& g, std::mt19937& rng, int steps) {
    GrammarMatcher m(std::make_shared<const Grammar>(g));
    std::string text;
    for (int i = 0; i < steps; ++i) {
        if (m.complete() && rng() % 4 == 0) break;
        std::vector<uint8_t> next;
        for (int b = 0x20; b <= 0x100; ++b) {
            const uint8_t byte = b == 0x7f || b == 0x100 ? '\n' : static_cast<uint8_t>(b);
            GrammarMatcher probe = m;
            if (probe.accept_byte(byte)) next.push_back(byte);
        }
        if (next.empty()) break;
        const uint8_t b = next[rng() % next.size()];
        m.accept_byte(b);
        text += static_cast<char>(b);
    }
    const std::string rest = m.shortest_completion();
    EXPECT_TRUE(m.accept_bytes(rest));
    EXPECT_TRUE(m.complete()) << text;
    return text + rest;
}

struct Family {
    const char* file;
    OutputFormat format;
};
const Family kFamilies[] = {
    {"qwen2.5-coder-0.5b-instruct.gguf.jinja", OutputFormat::Hermes},
    {"Qwen-Qwen3-0.6B.jinja", OutputFormat::Hermes},
    {"deepseek-ai-DeepSeek-V3.1.jinja", OutputFormat::DeepSeek},
    {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", OutputFormat::DeepSeek},
    {"GLM-4.6.jinja", OutputFormat::GLM},
    {"moonshotai-Kimi-K2.jinja", OutputFormat::Kimi},
    {"meta-llama-Llama-3.1-8B-Instruct.jinja", OutputFormat::Llama3},
};

// Every call parses back with an offered name and arguments valid for that tool.
std::vector<ToolCall> parse_back(const Family& f, const std::string& text, bool starts_inside = false) {
    ParsedOutput out = parse_output(f.format, starts_inside, text, kTools);
    EXPECT_EQ(out.content, "") << text;
    for (const auto& c : out.tool_calls) {
        json args = json::parse(c.arguments, nullptr, false);
        EXPECT_FALSE(args.is_discarded()) << c.arguments;
        std::string why;
        EXPECT_TRUE(validate_json_schema(schema_of(c.name), args, &why)) << c.name << " " << c.arguments << ": " << why;
    }
    return out.tool_calls;
}

}  // namespace

TEST(ToolCallGrammar, SampledTextsParseBackIntoValidCalls) {
    std::mt19937 rng(7);
    for (const auto& f : kFamilies) {
        SCOPED_TRACE(f.file);
        ASSERT_EQ(detect_output_format(template_text(f.file)), f.format);
        EXPECT_TRUE(template_writes_tool_calls(template_text(f.file)));
        // A random walk that enters a reasoning trace rarely leaves it before the step budget
        // is spent, so the calls are sampled here without one (ReasoningBlockBeforeTheCall
        // covers the trace).
        std::string src = template_text(f.file);
        for (size_t at; (at = src.find("<think>")) != std::string::npos;) src.replace(at, 7, "<reason>");
        for (bool parallel : {true, false}) {
            Grammar g = tool_call_grammar(kTools, src, {"", parallel, false});
            std::set<std::string> names;
            size_t most = 0;
            for (int i = 0; i < 24; ++i) {
                const std::string text = sample(g, rng, 40 + i * 10);
                auto calls = parse_back(f, text);
                ASSERT_GE(calls.size(), 1u) << text;
                if (!parallel) {
                    ASSERT_EQ(calls.size(), 1u) << text;
                }
                most = std::max(most, calls.size());
                for (const auto& c : calls) names.insert(c.name);
            }
            EXPECT_EQ(names.size(), 3u) << "every tool is reachable";
            if (parallel) {
                EXPECT_GT(most, 1u) << "several calls are reachable";
            }
        }
        // Named: only that tool.
        Grammar named = tool_call_grammar(kTools, src, {"add", true, false});
        for (int i = 0; i < 8; ++i) {
            const std::string text = sample(named, rng, 60);
            for (const auto& c : parse_back(f, text)) EXPECT_EQ(c.name, "add") << text;
        }
    }
}

TEST(ToolCallGrammar, HermesAcceptsTheModelsOwnMarkupAndRefusesOthers) {
    const std::string src = template_text("qwen2.5-coder-0.5b-instruct.gguf.jinja");
    Grammar any = tool_call_grammar(kTools, src, {"", true, false});
    Grammar one = tool_call_grammar(kTools, src, {"", false, false});
    Grammar named = tool_call_grammar(kTools, src, {"get_weather", true, false});
    const std::string weather = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
    const std::string add = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 0.5, \"exact\": true}}\n</tool_call>";
    EXPECT_TRUE(accepts(any, weather));
    EXPECT_TRUE(accepts(any, add));
    EXPECT_TRUE(accepts(any, weather + "\n" + add));
    EXPECT_TRUE(accepts(one, add));
    EXPECT_FALSE(accepts(one, weather + "\n" + add)) << "parallel_tool_calls false: one call";
    EXPECT_TRUE(accepts(named, weather));
    EXPECT_FALSE(accepts(named, add)) << "named: other tools refused";
    EXPECT_TRUE(accepts(any, "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>"));
    for (const std::string& bad : {
             std::string("Sure!") + weather,                                                   // text first
             std::string(""),                                                                  // no call
             std::string("<tool_call>\n{\"name\": \"delete_all\", \"arguments\": {}}\n</tool_call>"),  // unknown tool
             std::string("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"),  // required missing
             std::string("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": 3}}\n</tool_call>"),
             std::string("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"P\", \"unit\": \"K\"}}\n</tool_call>"),
             std::string("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1.5, \"b\": 1}}\n</tool_call>"),
             std::string("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 1, \"c\": 1}}\n</tool_call>"),
             weather.substr(0, weather.size() - 1),  // unclosed
             std::string("<think>x</think>") + weather,  // Qwen2.5's template knows no <think>
         })
        EXPECT_FALSE(accepts(any, bad)) << bad;
}

TEST(ToolCallGrammar, ReasoningBlockBeforeTheCall) {
    const std::string src = template_text("Qwen-Qwen3-0.6B.jinja");
    const std::string call = "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>";
    Grammar g = tool_call_grammar(kTools, src, {"", true, false});
    EXPECT_TRUE(accepts(g, call));
    EXPECT_TRUE(accepts(g, "<think>\nIt is </thin time.\n</think>\n\n" + call));
    EXPECT_FALSE(accepts(g, "<think>a</think>b</think>" + call));
    EXPECT_FALSE(accepts(g, "<think>never closed" + call));
    auto calls = parse_back(kFamilies[1], "<think>\nIt is </thin time.\n</think>\n\n" + call);
    ASSERT_EQ(calls.size(), 1u);
    // The prompt opened the trace: it must be closed first.
    Grammar inside = tool_call_grammar(kTools, src, {"", true, true});
    EXPECT_TRUE(accepts(inside, "time to call</think>\n\n" + call));
    EXPECT_FALSE(accepts(inside, call));
    EXPECT_EQ(parse_back(kFamilies[1], "time to call</think>\n\n" + call, true).size(), 1u);
}

TEST(ToolCallGrammar, Errors) {
    const std::string src = template_text("Qwen-Qwen3-0.6B.jinja");
    auto error_of = [&](const json& tools, const std::string& only) {
        try {
            tool_call_grammar(tools, src, {only, true, false});
        } catch (const hearth::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of(kTools, "missing").find("'missing', which is not among the tools"), std::string::npos);
    EXPECT_NE(error_of(json::array({{{"type", "function"}, {"function", {{"description", "x"}}}}}), "").find("tools[0]"),
              std::string::npos);
    EXPECT_NE(error_of(json::array({{{"type", "function"},
                                     {"function", {{"name", "f"}, {"parameters", {{"type", "string"}, {"pattern", "a+"}}}}}}}),
                       "")
                  .find("\"pattern\" is not supported"),
              std::string::npos);
    EXPECT_NE(error_of(json::array(), "").find("no tools"), std::string::npos);
    // Templates that do not write <tool_call> themselves are not taken for Hermes.
    EXPECT_FALSE(template_writes_tool_calls(template_text("mistralai-Mistral-Nemo-Instruct-2407.jinja")));
    EXPECT_FALSE(template_writes_tool_calls(template_text("SmolLM2-135M-Instruct.gguf.jinja")));
}
