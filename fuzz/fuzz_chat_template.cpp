// libFuzzer target for the Jinja interpreter. A chat template arrives inside the model file,
// so it is untrusted input: it must parse and render, or raise hearth::Error, within bounded
// time and memory (libFuzzer's -timeout and -rss_limit_mb catch runaway loops and output).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto messages = nlohmann::ordered_json::parse(R"([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4", "reasoning_content": "add"},
        {"role": "user", "content": [{"type": "text", "text": "And 3+3?"}]}])");
    static const auto tools = nlohmann::ordered_json::parse(
        R"([{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}])");
    try {
        hearth::chat::ChatTemplate t(std::string(reinterpret_cast<const char*>(data), size), "<s>", "</s>");
        (void)t.render(messages, tools, true);
    } catch (const hearth::Error&) {
    }
    return 0;
}
