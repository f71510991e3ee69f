#include "chat/model_template.h"

#include <string>

#include "format/gguf.h"
#include "tokenizer/tokenizer.h"

namespace hearth::chat {

const char* const kChatMLTemplate =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] if message['content'] is string else '') + "
    "'<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

ModelTemplate template_for_model(const format::GGUFFile& file, const tokenizer::Tokenizer& tok) {
    // An empty template counts as none: some converters write the key with no text.
    if (!file.get_string("tokenizer.chat_template", "").empty())
        return ModelTemplate{ChatTemplate::from_gguf(file), true};
    auto text = [&](int32_t id) { return id >= 0 && id < tok.n_vocab() ? std::string(tok.token_text(id)) : std::string(); };
    return ModelTemplate{ChatTemplate(kChatMLTemplate, text(tok.bos_id()), text(tok.eos_id())), false};
}

}  // namespace hearth::chat
