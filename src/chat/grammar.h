#pragma once
// Structured output from a grammar written as text, in the GBNF style llama.cpp made common:
//
//   root   ::= expr
//   expr   ::= term (("+" | "-") term)*        # comments run to the end of the line
//   term   ::= [0-9]+ | "(" expr ")"
//
// Rules are `name ::= alternatives`; a rule runs until the next `name ::=` or the end, so
// rules may span lines. Names are letters, digits, '-' and '_'. The grammar matches from the
// rule named `root`. Elements: "literal" strings, [character classes] with ranges (a-z),
// negation ([^...]) and any Unicode code points, `.` (any code point), rule names, groups
// ( ... ), alternation |, and the repetitions ?, *, +, {m}, {m,}, {m,n}, {,n}. Escapes in
// strings and classes: \n \r \t \\ \" \' \[ \] \- \^ \/ \xHH \uHHHH \UHHHHHHHH (code points,
// written out as UTF-8). Text is matched as UTF-8 bytes.
//
// Errors name the place: "grammar line 3, column 12: ...". Left recursion (a rule that can
// begin with itself, directly, through other rules, or through parts that match empty text)
// is rejected with the cycle spelled out, as is a rule that derives no finite text.
#include <string>

#include "chat/grammar_matcher.h"

namespace hearth::chat {

// Compiles GBNF text; throws hearth::Error on a bad grammar.
Grammar parse_gbnf(const std::string& text);

// Reads and compiles a grammar file; errors start with the file's path.
Grammar load_gbnf_file(const std::string& path);

}  // namespace hearth::chat
