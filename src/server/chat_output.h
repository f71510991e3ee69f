#pragma once
// One chat choice's generated text turned into what the OpenAI API returns: stream deltas
// ({"reasoning_content"}, {"content"}, {"tool_calls": [...]}) while it is generated, then the
// final `message`, the finish_reason ("tool_calls" when the model called tools) and the
// number of tokens spent reasoning (usage.completion_tokens_details.reasoning_tokens).
//
// The text is fed as generated, a token's piece at a time (or several tokens' pieces with
// their count); the split is the chat::OutputParser's, so the deltas concatenate to the final
// message's fields however the text was cut. Tool calls stream as OpenAI streams them: a
// call's first delta carries its index, id, type, name and the first piece of its arguments
// ("" when none yet), later ones its index and more of the arguments; the pieces concatenate
// to the final arguments. Calls are announced only once their markup is open and their name
// complete (chat::ToolCallStream, for Hermes/Qwen and Llama 3 markup); the calls of other
// families, and anything the stream could not follow, go out whole at the end.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "chat/tool_call_stream.h"

namespace hearth::tokenizer {
class Tokenizer;
}

namespace hearth::server {

class ChatOutput {
public:
    // tools: the tool list the model was offered (null/empty: none, so tool-call markup stays
    // content). starts_in_reasoning: the rendered prompt opened the trace (chat::prompt_opens_reasoning).
    ChatOutput(chat::OutputFormat fmt, bool starts_in_reasoning, const nlohmann::ordered_json& tools);

    // Feeds the text of `n_tokens` generated tokens; returns the deltas to stream, in order
    // (possibly none: text that may begin markup is held back).
    std::vector<nlohmann::ordered_json> push(std::string_view text, int64_t n_tokens = 1);
    // The end of generation: held text, then one {"tool_calls": [...]} delta per call.
    std::vector<nlohmann::ordered_json> finish();

    // After finish(): {"role": "assistant", "content" (null when the model only called tools),
    // "reasoning_content" (when it reasoned), "tool_calls" (when it called tools)}.
    nlohmann::ordered_json message() const;
    const chat::ParsedOutput& parsed() const { return parser_.result(); }
    bool called_tools() const { return !parser_.result().tool_calls.empty(); }
    // The OpenAI finish_reason for this choice given the engine's ("stop"/"length" after
    // server::finish_reason): a stop that ended a tool call is "tool_calls".
    std::string finish_reason(const std::string& api_reason) const;
    // Tokens fed while the model was inside its reasoning trace, the ones holding the opening
    // and closing tags included. Exact when fed a token at a time; a multi-token piece that
    // touches the trace counts whole.
    int64_t reasoning_tokens() const { return reasoning_tokens_; }

private:
    void append(const chat::OutputDelta& d, std::vector<nlohmann::ordered_json>& out);
    chat::OutputParser parser_;
    chat::ToolCallStream calls_;
    std::vector<std::string> ids_;  // of the calls announced while streaming
    int64_t reasoning_tokens_ = 0;
    int64_t undecided_tokens_ = 0;  // fed before the parser could tell whether a trace opens
    bool trace_seen_ = false;
    bool answer_seen_ = false;
    bool finished_ = false;
};

// usage.completion_tokens_details.reasoning_tokens of a finished choice: its generated ids
// replayed through a ChatOutput a token at a time, decoded as generation decodes them. Exact
// where the streamed pieces are not (the engine releases several tokens' text at once while
// it holds text back for a stop string).
int64_t count_reasoning_tokens(chat::OutputFormat fmt, bool starts_in_reasoning, const tokenizer::Tokenizer& tok,
                               const std::vector<int32_t>& ids);

}  // namespace hearth::server
