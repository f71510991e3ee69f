#include "chat/chat_template.h"

#include "chat/jinja/template.h"
#include "core/error.h"
#include "format/gguf.h"

namespace hearth::chat {

using jinja::CallArgs;
using jinja::Value;

ChatTemplate::ChatTemplate(std::string source, std::string bos_token, std::string eos_token)
    : source_(std::move(source)), bos_(std::move(bos_token)), eos_(std::move(eos_token)),
      tmpl_(std::make_unique<jinja::Template>(source_)) {}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

ChatTemplate ChatTemplate::from_gguf(const format::GGUFFile& file) {
    const format::GGUFValue* src = file.find("tokenizer.chat_template");
    if (!src) throw Error(file.path() + ": no tokenizer.chat_template in the metadata");
    const std::string& text = src->as_string("tokenizer.chat_template");
    auto token_text = [&](const char* key) -> std::string {
        const format::GGUFValue* id = file.find(key);
        const format::GGUFValue* toks = file.find("tokenizer.ggml.tokens");
        if (!id || !toks) return "";
        int64_t i = id->as_int(key);
        if (i < 0 || static_cast<size_t>(i) >= toks->array_size("tokenizer.ggml.tokens"))
            throw Error(file.path() + ": " + key + " " + std::to_string(i) + " is outside the vocabulary");
        return std::string(toks->array_string(static_cast<size_t>(i), "tokenizer.ggml.tokens"));
    };
    try {
        return ChatTemplate(text, token_text("tokenizer.ggml.bos_token_id"), token_text("tokenizer.ggml.eos_token_id"));
    } catch (const Error& e) {
        throw Error(file.path() + ": tokenizer.chat_template: " + e.what());
    }
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                 bool add_generation_prompt, const nlohmann::ordered_json& extra) const {
    Value ctx = Value::dict();
    auto& d = ctx.dict_ref();
    d.set(Value("messages"), Value::from_json(messages));
    d.set(Value("tools"), Value::from_json(tools));
    d.set(Value("documents"), Value::none());
    d.set(Value("add_generation_prompt"), Value(add_generation_prompt));
    if (!bos_.empty()) d.set(Value("bos_token"), Value(bos_));
    if (!eos_.empty()) d.set(Value("eos_token"), Value(eos_));
    auto clock = clock_;
    d.set(Value("strftime_now"), Value::function("strftime_now", [clock](CallArgs& a) {
        std::tm tm{};
        if (clock) {
            tm = clock();
        } else {
            std::time_t t = std::time(nullptr);
            localtime_r(&t, &tm);
        }
        std::string fmt = a.pos.empty() ? "" : a.pos[0].str();
        char buf[512];
        size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
        return Value(std::string(buf, n));
    }));
    if (extra.is_object())
        for (const auto& [k, v] : extra.items()) d.set(Value(k), Value::from_json(v));
    return tmpl_->render(ctx);
}

}  // namespace hearth::chat
