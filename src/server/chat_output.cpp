#include "server/chat_output.h"

#include "server/api.h"
#include "tokenizer/tokenizer.h"

namespace hearth::server {

using json = nlohmann::ordered_json;

namespace {
bool offers_tools(const json& tools) { return tools.is_array() && !tools.empty(); }
}  // namespace

ChatOutput::ChatOutput(chat::OutputFormat fmt, bool starts_in_reasoning, const json& tools)
    : parser_(fmt, starts_in_reasoning, offers_tools(tools) ? tools : json(nullptr), offers_tools(tools)), calls_(fmt) {}

namespace {
json call_delta(size_t index, const std::string& id, const std::string& name, const std::string& args) {
    return {{"tool_calls", json::array({{{"index", index},
                                         {"id", id},
                                         {"type", "function"},
                                         {"function", {{"name", name}, {"arguments", args}}}}})}};
}
json args_delta(size_t index, const std::string& args) {
    return {{"tool_calls", json::array({{{"index", index}, {"function", {{"arguments", args}}}}})}};
}
}  // namespace

void ChatOutput::append(const chat::OutputDelta& d, std::vector<json>& out) {
    if (!d.reasoning.empty()) out.push_back({{"reasoning_content", d.reasoning}});
    if (!d.content.empty()) out.push_back({{"content", d.content}});
    if (d.tool_text.empty()) return;
    for (auto& p : calls_.push(d.tool_text)) {
        if (p.first) {
            // The id is known before the arguments are, so it is drawn fresh rather than
            // derived from them (as chat::parse_tool_calls does for whole outputs).
            ids_.push_back(new_id("call_"));
            out.push_back(call_delta(p.index, ids_.back(), p.name, p.arguments));
        } else {
            out.push_back(args_delta(p.index, p.arguments));
        }
    }
}

std::vector<json> ChatOutput::push(std::string_view text, int64_t n_tokens) {
    std::vector<json> out;
    const bool before = parser_.in_reasoning();
    append(parser_.push(text), out);
    const bool after = parser_.in_reasoning();
    if (before || after) {
        // Tokens that spelled the opening tag in pieces ("<", "think", ">") count too.
        reasoning_tokens_ += n_tokens + undecided_tokens_;
        undecided_tokens_ = 0;
        trace_seen_ = true;
    } else if (!trace_seen_ && !answer_seen_) {
        undecided_tokens_ += n_tokens;
    }
    if (!out.empty() && !after) answer_seen_ = true;  // a trace can only open at the start
    return out;
}

std::vector<json> ChatOutput::finish() {
    std::vector<json> out;
    if (finished_) return out;
    finished_ = true;
    append(parser_.finish(), out);
    const auto& calls = parser_.result().tool_calls;
    for (size_t i = 0; i < calls.size(); ++i) {
        if (!calls_.announced(i)) {
            out.push_back(call_delta(i, calls[i].id, calls[i].name, calls[i].arguments));
            continue;
        }
        // What was streamed is a prefix of the final arguments unless the markup turned out
        // not to be the call it looked like; then the final message is the authority.
        const std::string& sent = calls_.arguments(i);
        if (calls_.name(i) == calls[i].name && calls[i].arguments.compare(0, sent.size(), sent) == 0 &&
            calls[i].arguments.size() > sent.size())
            out.push_back(args_delta(i, calls[i].arguments.substr(sent.size())));
    }
    return out;
}

json ChatOutput::message() const {
    json m = parser_.result().to_message();
    for (size_t i = 0; i < ids_.size() && m.contains("tool_calls") && i < m["tool_calls"].size(); ++i)
        m["tool_calls"][i]["id"] = ids_[i];
    // OpenAI: an assistant message that only calls tools has null content.
    if (called_tools() && parser_.result().content.empty()) m["content"] = nullptr;
    return m;
}

std::string ChatOutput::finish_reason(const std::string& api_reason) const {
    return called_tools() && api_reason == "stop" ? "tool_calls" : api_reason;
}

int64_t count_reasoning_tokens(chat::OutputFormat fmt, bool starts_in_reasoning, const tokenizer::Tokenizer& tok,
                               const std::vector<int32_t>& ids) {
    // Tool-call markup does not change where the trace ends, so no tools are needed here.
    ChatOutput out(fmt, starts_in_reasoning, nullptr);
    tokenizer::StreamDecoder dec(tok);
    for (int32_t id : ids) out.push(dec.push(id));
    return out.reasoning_tokens();
}

}  // namespace hearth::server
