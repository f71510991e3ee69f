#pragma once
// A Jinja template engine for the subset of Jinja that chat templates use, rendering as
// Python's jinja2 does in Hugging Face transformers' apply_chat_template (sandboxed,
// trim_blocks and lstrip_blocks on, loopcontrols, `{% generation %}`).
//
//   jinja::Template t(source);                   // throws hearth::Error on a syntax error
//   jinja::Value ctx = jinja::Value::dict();
//   ctx.dict_ref().set("messages", jinja::Value::from_json(messages));
//   std::string text = t.render(ctx);            // throws hearth::Error on a runtime error
//
// Supported: {{ }}, {% %}, {# #} with whitespace control; if/elif/else, for (loop.*, else,
// inline `if` filter, tuple targets, break/continue), set (names, tuples, ns.attr, blocks),
// macro (defaults, keyword args, caller), call and filter blocks, generation; all Jinja
// operators and literals, attributes, subscripts and slices; the globals range, namespace,
// dict; the usual filters, tests and Python str/dict/list methods (see interpreter.cpp).
// Lists are immutable as in jinja2's ImmutableSandboxedEnvironment (append/pop raise).
// Anything else raises hearth::Error("template line N: unsupported ... '<construct>'").
#include <memory>
#include <string>

#include "chat/jinja/ast.h"
#include "chat/jinja/parser.h"
#include "chat/jinja/value.h"

namespace hearth::chat::jinja {

class Template {
public:
    explicit Template(const std::string& source, const LexOptions& opts = {});
    // `context` is a Dict of the template's variables (functions are Value::function).
    std::string render(const Value& context) const;

private:
    std::shared_ptr<Body> body_;
};

}  // namespace hearth::chat::jinja
