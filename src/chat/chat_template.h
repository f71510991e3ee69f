#pragma once
// A model's chat template: turns a conversation (OpenAI-style messages, optional tools)
// into the prompt text, exactly as Hugging Face transformers' apply_chat_template renders
// it with jinja2 (same context variables: messages, tools, documents, add_generation_prompt,
// bos_token, eos_token, plus any extra keyword arguments such as enable_thinking).
//
//   auto tmpl = hearth::chat::ChatTemplate::from_gguf(gguf);
//   std::string prompt = tmpl.render(messages, nullptr, /*add_generation_prompt=*/true,
//                                    {{"enable_thinking", false}});
//
// Errors (a template that does not parse, raise_exception() in the template, a runtime
// error such as a missing attribute of an undefined value) throw hearth::Error with the
// template line.
#include <ctime>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace hearth::format {
class GGUFFile;
}

namespace hearth::chat {

namespace jinja {
class Template;
}

class ChatTemplate {
public:
    // bos_token / eos_token: the texts of the model's BOS/EOS tokens; an empty string leaves
    // the variable undefined (as transformers does for a tokenizer without that token).
    ChatTemplate(std::string source, std::string bos_token, std::string eos_token);
    ~ChatTemplate();
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(ChatTemplate&&) noexcept;

    // Reads tokenizer.chat_template and the BOS/EOS token texts (tokenizer.ggml.bos_token_id /
    // eos_token_id looked up in tokenizer.ggml.tokens). Throws hearth::Error naming the file
    // when the file has no chat template.
    static ChatTemplate from_gguf(const format::GGUFFile& file);

    // messages: JSON array of message objects; tools: JSON array or null (passed as None);
    // extra: an object of further template variables (they override the defaults above).
    std::string render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                       bool add_generation_prompt,
                       const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

    // The clock strftime_now() reads (local time now by default); tests pin it.
    void set_clock(std::function<std::tm()> clock) { clock_ = std::move(clock); }

    const std::string& source() const { return source_; }
    const std::string& bos_token() const { return bos_; }
    const std::string& eos_token() const { return eos_; }

private:
    std::string source_, bos_, eos_;
    std::unique_ptr<jinja::Template> tmpl_;
    std::function<std::tm()> clock_;
};

}  // namespace hearth::chat
