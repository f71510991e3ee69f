#pragma once
// The chat template for a model file: its own (tokenizer.chat_template), or ChatML when the
// file has none, the format most template-less instruction-tuned files expect and the one
// llama.cpp falls back to. One definition for the CLI, the server and the audit runners, so
// that all of them prompt a template-less model the same way.
#include "chat/chat_template.h"

namespace hearth::format {
class GGUFFile;
}
namespace hearth::tokenizer {
class Tokenizer;
}

namespace hearth::chat {

// The fallback's source: ChatML; message content that is not a string renders as empty.
extern const char* const kChatMLTemplate;

struct ModelTemplate {
    ChatTemplate tmpl;
    bool own = false;  // false: the ChatML fallback
};

// Throws hearth::Error when the file's own template does not parse.
ModelTemplate template_for_model(const format::GGUFFile& file, const tokenizer::Tokenizer& tok);

}  // namespace hearth::chat
