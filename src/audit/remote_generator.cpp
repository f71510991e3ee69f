#include "audit/remote_generator.h"

#include <chrono>

#include "chat/output_parser.h"

namespace hearth::audit {

RemoteGenerator::RemoteGenerator(const std::string& base_url, std::string model, std::string api_key)
    : client_(base_url, std::move(api_key)), model_(std::move(model)) {}

Generation RemoteGenerator::generate(const Probe& p, int64_t max_tokens) {
    nlohmann::json messages = nlohmann::json::array();
    if (!p.system.empty()) messages.push_back({{"role", "system"}, {"content", p.system}});
    messages.push_back({{"role", "user"}, {"content", p.prompt}});
    const auto t0 = std::chrono::steady_clock::now();
    client::ChatReply r = client_.chat(model_, messages, max_tokens, {{"temperature", 0}, {"seed", 0}});
    const auto t1 = std::chrono::steady_clock::now();
    Generation g;
    g.reasoning = r.reasoning_content;
    g.content = r.content;
    if (g.reasoning.empty()) {
        // Servers that do not split reasoning leave <think>...</think> in the content.
        chat::ReasoningSplitter split({{"<think>", "</think>"}}, false);
        chat::OutputDelta a = split.push(r.content), b = split.finish();
        g.reasoning = a.reasoning + b.reasoning;
        g.content = a.content + b.content;
    }
    g.text = g.reasoning.empty() ? g.content : "<think>" + g.reasoning + "</think>" + g.content;
    g.n_prompt = r.prompt_tokens;
    g.n_tokens = r.completion_tokens;
    g.finish_reason = r.finish_reason;
    g.decode_s = std::chrono::duration<double>(t1 - t0).count();  // the server's split is not known
    return g;
}

}  // namespace hearth::audit
