#pragma once
// What a chat model wrote, taken apart: the reasoning trace (<think>...</think> and the
// families' variants), the answer, and OpenAI-style tool calls in the markup of each family
// (Qwen/Hermes, DeepSeek V3/R1, GLM-4.5, Kimi-K2, Llama 3.1).
//
// The parser is fed the text as it is generated, in chunks of any size (a chunk may end in
// the middle of a tag or a UTF-8 character); it streams reasoning and answer text as soon as
// it cannot be the start of markup, holds tool-call markup back, and gives the same final
// result however the text was split.
//
//   chat::OutputParser p(chat::detect_output_format(tmpl.source()), chat::prompt_opens_reasoning(prompt));
//   for (each piece) { auto d = p.push(piece); show(d.reasoning, d.content); }
//   auto d = p.finish();  const chat::ParsedOutput& out = p.result();
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::chat {

enum class OutputFormat {
    Hermes,    // Qwen2.5/Qwen3, Hermes, QwQ: <tool_call>{"name":..,"arguments":..}</tool_call>
    DeepSeek,  // <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>...<｜tool▁sep｜>...<｜tool▁call▁end｜>
    GLM,       // <tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
    Kimi,      // <|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{..}
    Llama3,    // {"name":..,"parameters":..} or <|python_tag|>...
};

const char* format_name(OutputFormat f);

// Picks the format from the markup a chat template writes for tool calls (Hermes otherwise).
OutputFormat detect_output_format(const std::string& template_source);

// True when the rendered prompt leaves the model inside a reasoning trace (it ends with an
// opening <think> the template wrote itself, as DeepSeek-R1 and QwQ do), so the output
// starts with reasoning and only the closing tag appears.
bool prompt_opens_reasoning(const std::string& prompt);

struct ToolCall {
    std::string id;
    std::string name;
    std::string arguments;  // a JSON text (an object)
};

struct ParsedOutput {
    std::string reasoning_content;
    std::string content;
    std::vector<ToolCall> tool_calls;
    // {"role":"assistant","content":..,"reasoning_content":..,"tool_calls":[{"id","type","function"}]}
    nlohmann::ordered_json to_message() const;
};

struct OutputDelta {
    std::string reasoning;
    std::string content;
    // Tool-call markup, from the first marker on, as it arrives (held back from content; its
    // calls are parsed at finish(), or streamed by chat::ToolCallStream).
    std::string tool_text;
};

// Splits reasoning from the answer, streaming. open/close: the tag pair; start_inside: the
// prompt already opened the trace; implicit_close: strings that end the trace and belong to
// the answer (Kimi-K2 may start its tool-call section without closing the trace).
class ReasoningSplitter {
public:
    ReasoningSplitter(std::vector<std::pair<std::string, std::string>> tags, bool start_inside,
                      std::vector<std::string> implicit_close = {});
    OutputDelta push(std::string_view chunk);
    OutputDelta finish();
    // Inside the trace now (or the prompt opened it and no text has decided otherwise yet).
    bool in_reasoning() const { return st_ == State::Reasoning || (st_ == State::Start && inside_); }

private:
    enum class State { Start, Reasoning, AfterClose, Content };
    void run(OutputDelta& d, bool final);
    std::vector<std::pair<std::string, std::string>> tags_;
    std::vector<std::string> implicit_;
    bool inside_;
    State st_ = State::Start;
    size_t pair_ = 0;          // which tag pair opened the trace
    bool seen_reasoning_ = false;  // leading newlines of the trace are dropped
    std::string buf_;
};

class OutputParser {
public:
    // tools: the OpenAI-style tool list given to the template (or null); GLM uses the
    // parameter types to tell string values from JSON ones. parse_tool_calls false: the
    // answer is all content, markup included (no tools were offered to the model).
    OutputParser(OutputFormat fmt, bool starts_in_reasoning,
                 nlohmann::ordered_json tools = nullptr, bool parse_tool_calls = true);
    OutputDelta push(std::string_view chunk);
    OutputDelta finish();
    const ParsedOutput& result() const { return out_; }
    // True while the text fed so far leaves the model inside its reasoning trace.
    bool in_reasoning() const { return split_.in_reasoning(); }

private:
    void feed_content(const std::string& s, OutputDelta& d, bool final);
    OutputFormat fmt_;
    nlohmann::ordered_json tools_;
    ReasoningSplitter split_;
    std::vector<std::string> markers_;
    std::string hold_;       // answer text that may begin tool-call markup
    std::string tool_text_;  // from the first tool-call marker on
    bool in_tools_ = false;
    bool any_content_ = false;  // non-space answer text seen (Llama's bare JSON must come first)
    bool parse_tools_ = true;
    ParsedOutput out_;
};

// Parses a whole tool-call section (what follows the first marker); text that is not a call
// is returned in `rest`. Exposed for tests.
std::vector<ToolCall> parse_tool_calls(OutputFormat fmt, const std::string& text, std::string& rest,
                                       const nlohmann::ordered_json& tools = nullptr);

// A JSON text less the whitespace between its tokens (strings untouched). Tool-call arguments
// are given in this form: the model's own spelling, which can be streamed as it is written.
std::string minify_json(std::string_view text);

// Parses a whole output at once (same result as streaming).
ParsedOutput parse_output(OutputFormat fmt, bool starts_in_reasoning, const std::string& text,
                          const nlohmann::ordered_json& tools = nullptr);

}  // namespace hearth::chat
