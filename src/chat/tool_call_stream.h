#pragma once
// Tool-call arguments streamed while the model writes them, as OpenAI streams them: a call's
// first piece names it, later pieces carry more of its arguments. Fed the tool-call markup
// (OutputDelta::tool_text) as it arrives; a call is announced only once its markup is open
// and its name is complete, and arguments go out as written, less the whitespace between
// JSON tokens (chat::minify_json), which is the form OutputParser gives the final arguments
// in, so the pieces concatenate to them.
//
// Streamed: the families whose calls are a JSON object naming the function before its
// arguments: Hermes/Qwen (<tool_call>{"name": .., "arguments": {..}}</tool_call>) and Llama 3
// ({"name": .., "parameters": {..}}; ...). Other families, arguments given as a JSON string,
// and objects that put the arguments before the name are not streamed here: their calls go
// out whole when generation ends (server::ChatOutput::finish).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "chat/output_parser.h"

namespace hearth::chat {

struct ToolCallPiece {
    size_t index = 0;
    bool first = false;      // the call's first piece: `name` is set
    std::string name;
    std::string arguments;   // more of the arguments ("" in a first piece that has none yet)
};

class ToolCallStream {
public:
    explicit ToolCallStream(OutputFormat fmt);
    std::vector<ToolCallPiece> push(std::string_view markup);
    // What has been streamed of call `index` ("" when it was never announced).
    bool announced(size_t index) const { return index < streamed_.size(); }
    const std::string& name(size_t index) const { return names_[index]; }
    const std::string& arguments(size_t index) const { return streamed_[index]; }

private:
    enum class State { SeekCall, SeekBrace, SeekKey, Colon, Value, SkipValue, Arguments, Done };
    void run(std::vector<ToolCallPiece>& out);
    bool streamable() const { return fmt_ == OutputFormat::Hermes || fmt_ == OutputFormat::Llama3; }

    OutputFormat fmt_;
    std::string buf_;
    size_t pos_ = 0;
    State st_ = State::SeekCall;
    std::string key_;       // the member whose value comes next
    std::string name_;      // of the call being read
    size_t calls_ = 0;      // call objects opened so far
    int depth_ = 0;         // inside a value being skipped or streamed
    bool in_str_ = false, escaped_ = false;
    std::vector<std::string> names_, streamed_;
};

}  // namespace hearth::chat
