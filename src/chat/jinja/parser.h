#pragma once
// Lexer and parser for the Jinja subset. Whitespace handling follows jinja2's lexer:
// `{%-`/`-%}` strip, trim_blocks drops the newline after a block or comment tag,
// lstrip_blocks drops spaces/tabs before a block or comment tag that starts a line,
// `{%+` keeps them, newlines are normalised to "\n" and one trailing newline is dropped.
#include <string>

#include "chat/jinja/ast.h"

namespace hearth::chat::jinja {

struct LexOptions {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
    bool keep_trailing_newline = false;
};

// Throws hearth::Error("template line N: ...") on a syntax error or an unsupported construct.
Body parse_template(const std::string& source, const LexOptions& opts);

}  // namespace hearth::chat::jinja
