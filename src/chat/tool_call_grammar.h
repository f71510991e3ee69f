#pragma once
// tool_choice "required" and a named function: a grammar that lets the model write nothing
// but tool calls, in the markup its own chat template taught it (the text chat::OutputParser
// reads back), each naming one of the offered tools and with arguments that follow that
// tool's `parameters` JSON schema (json_schema.h's compiler).
//
// Markup per family (detect_output_format on the template source):
//   Hermes/Qwen  <tool_call>\n{"name": "f", "arguments": {..}}\n</tool_call>   calls joined by "\n"
//   Llama 3      {"name": "f", "parameters": {..}}                               calls joined by "; "
//   DeepSeek     <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{..}<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
//                (R1/V3 templates: function<｜tool▁sep｜>f\n```json\n{..}\n```, calls joined by "\n")
//   Kimi-K2      <|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{..}<|tool_call_end|>...
//   GLM-4.5/4.6  <tool_call>f\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n</tool_call>
//                (string parameters raw, without '<'; others as JSON; listed order)
//
// Reasoning: when the template knows <think> (Qwen3, QwQ, DeepSeek-R1, GLM, Kimi-K2-Thinking),
// one reasoning block may come before the calls, so a thinking model still thinks first; it
// cannot hold "</think>" and ends with "</think>" and at most two newlines. When the prompt
// already opened the trace, the trace must be closed first. Templates without <think> get
// the calls straight away.
#include <string>

#include <nlohmann/json.hpp>

#include "chat/grammar_matcher.h"
#include "chat/output_parser.h"

namespace hearth::chat {

struct ToolCallGrammarOptions {
    std::string only;                  // a named tool_choice: the one tool allowed; "" any of them
    bool parallel = true;              // one or more calls; false: exactly one
    bool starts_in_reasoning = false;  // the rendered prompt opened the trace (prompt_opens_reasoning)
};

// Throws hearth::Error naming the problem: a tool without a name, `only` not among the tools,
// a parameters schema the compiler does not support.
Grammar tool_call_grammar(const nlohmann::ordered_json& tools, const std::string& template_source,
                          const ToolCallGrammarOptions& opt);

// True when the template writes tool calls in the markup of the format it is detected as, so
// the model was taught it (Hermes is only the parser's fallback: the template must say
// <tool_call> itself).
bool template_writes_tool_calls(const std::string& template_source);

}  // namespace hearth::chat
