// GBNF grammars (src/chat/grammar.h): the matcher's verdicts held to independent references
// (Python's `re` for the regular grammars, the `lark` Earley parser for the others) on
// tests/fixtures/chat_grammar/goldens.json (tools/gen_grammar_goldens.py: hand-written
// strings, seeded mutations of them, and outputs the default model produced under each
// grammar); errors with line and column; left recursion. Constrained generation with the
// default model is in test_grammar_model.cpp.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/grammar.h"
#include "core/error.h"

namespace {

using hearth::chat::Grammar;
using hearth::chat::GrammarMatcher;
using hearth::chat::parse_gbnf;
using json = nlohmann::ordered_json;

const std::filesystem::path kDir = std::filesystem::path(HEARTH_FIXTURES) / "chat_grammar";

std::string read(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::shared_ptr<const Grammar> compile(const std::string& text) { return std::make_shared<const Grammar>(parse_gbnf(text)); }

bool full_match(const std::shared_ptr<const Grammar>& g, const std::string& s) {
    GrammarMatcher m(g);
    return m.accept_bytes(s) && m.complete();
}

std::string error_of(const std::string& text) {
    try {
        parse_gbnf(text);
    } catch (const hearth::Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Grammar, AgreesWithReferenceParsers) {
    json doc = json::parse(read(kDir / "goldens.json"));
    ASSERT_GE(doc["grammars"].size(), 5u);
    size_t total = 0, accepted = 0;
    for (const auto& [file, entry] : doc["grammars"].items()) {
        SCOPED_TRACE(file + " (reference: " + entry["reference"].get<std::string>() + ")");
        auto g = compile(read(kDir / file));
        ASSERT_GE(entry["cases"].size(), 40u);
        size_t n_accept = 0;
        for (const auto& c : entry["cases"]) {
            const std::string text = c["text"].get<std::string>();
            const bool want = c["accept"].get<bool>();
            EXPECT_EQ(full_match(g, text), want) << json(text).dump();
            n_accept += want;
            ++total;
        }
        // Both verdicts occur, or the comparison would prove little.
        EXPECT_GE(n_accept, 10u);
        EXPECT_GE(entry["cases"].size() - n_accept, 10u);
        accepted += n_accept;
    }
    std::printf("[grammar] %zu reference verdicts checked (%zu accepted)\n", total, accepted);
}

// Every proper prefix of an accepted text stays alive (the token mask relies on it), and
// the shortest completion the matcher offers really completes the text.
TEST(Grammar, PrefixesStayAliveAndCompletionsComplete) {
    json doc = json::parse(read(kDir / "goldens.json"));
    for (const auto& [file, entry] : doc["grammars"].items()) {
        auto g = compile(read(kDir / file));
        for (const auto& c : entry["cases"]) {
            if (!c["accept"].get<bool>()) continue;
            const std::string text = c["text"].get<std::string>();
            GrammarMatcher m(g);
            for (size_t k = 0; k < text.size(); ++k) {
                ASSERT_TRUE(m.accept_byte(static_cast<uint8_t>(text[k]))) << file << ": " << json(text).dump() << " at " << k;
                GrammarMatcher done = m;
                ASSERT_TRUE(done.accept_bytes(done.shortest_completion()) && done.complete())
                    << file << ": " << json(text.substr(0, k + 1)).dump();
            }
            EXPECT_TRUE(m.complete());
        }
    }
}

TEST(Grammar, Repetitions) {
    auto g = compile("root ::= \"a\"{2,4} \"b\"{3} \"c\"{,1} \"d\"{2,}");
    EXPECT_FALSE(full_match(g, "abbbdd"));
    EXPECT_TRUE(full_match(g, "aabbbdd"));
    EXPECT_TRUE(full_match(g, "aaaabbbcddddd"));
    EXPECT_FALSE(full_match(g, "aaaaabbbdd"));
    EXPECT_FALSE(full_match(g, "aabbdd"));
    EXPECT_FALSE(full_match(g, "aabbbccdd"));
    EXPECT_FALSE(full_match(g, "aabbbd"));
    auto p = compile("root ::= (\"x\" | \"yz\")+ [0-9]? \"!\"*");
    EXPECT_TRUE(full_match(p, "x"));
    EXPECT_TRUE(full_match(p, "yzxyz7!!"));
    EXPECT_FALSE(full_match(p, ""));
    EXPECT_FALSE(full_match(p, "y"));
    EXPECT_FALSE(full_match(p, "x77"));
}

TEST(Grammar, ClassesEscapesAndUnicode) {
    auto g = compile("root ::= [^a-c\\n] [\\x41-\\u0043] \"\\t\\\"\\\\\" [-x] [\\]] .");
    EXPECT_TRUE(full_match(g, "dA\t\"\\-]z"));
    EXPECT_TRUE(full_match(g, "éC\t\"\\x]😀"));
    EXPECT_FALSE(full_match(g, "bA\t\"\\-]z"));
    EXPECT_FALSE(full_match(g, "\nA\t\"\\-]z"));
    EXPECT_FALSE(full_match(g, "dD\t\"\\-]z"));
    // `.` and negated classes take whole code points, never a lone continuation byte.
    auto dot = compile("root ::= . .");
    EXPECT_TRUE(full_match(dot, "ü€"));
    EXPECT_FALSE(full_match(dot, "\xC3"));
    EXPECT_FALSE(full_match(dot, std::string("\xC3\xBC\x80", 3)));
    EXPECT_FALSE(full_match(dot, "\xED\xA0\x80" "a"));  // a UTF-8-encoded surrogate is not text
    // Ranges across UTF-8 length boundaries.
    auto wide = compile("root ::= [\\x7E-\\u0801]+");
    EXPECT_TRUE(full_match(wide, "~\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xE0\xA0\x81"));
    EXPECT_FALSE(full_match(wide, "\xE0\xA0\x82"));
    EXPECT_FALSE(full_match(wide, "}"));
}

TEST(Grammar, RulesSpanLinesAndCommentsAreSkipped) {
    auto g = compile("# a comment\nroot ::= greeting\n   | \"bye\"   # another\n\ngreeting ::=\n  \"hi\"\n  \" there\"?\n");
    EXPECT_TRUE(full_match(g, "hi"));
    EXPECT_TRUE(full_match(g, "hi there"));
    EXPECT_TRUE(full_match(g, "bye"));
    EXPECT_FALSE(full_match(g, "hibye"));
}

TEST(Grammar, ErrorsNameLineAndColumn) {
    EXPECT_EQ(error_of("root ::= \"a\"\n  | [z-a]"), "grammar line 2, column 6: character range is reversed (its end comes before its start)");
    EXPECT_EQ(error_of("root ::= item\n"), "grammar line 1, column 10: rule 'item' is used but never defined");
    EXPECT_EQ(error_of("root ::= \"abc\n\""), "grammar line 1, column 10: unterminated string literal");
    EXPECT_EQ(error_of("root ::= [abc"), "grammar line 1, column 10: unterminated character class (missing ']')");
    EXPECT_EQ(error_of("root ::= (\"a\" | \"b\"\nx ::= \"c\""), "grammar line 2, column 1: missing ')' before the next rule");
    EXPECT_EQ(error_of("root ::= \"a\" )"), "grammar line 1, column 14: ')' without a matching '('");
    EXPECT_EQ(error_of("root = \"a\""), "grammar line 1, column 6: expected '::=' after the rule name 'root'");
    EXPECT_EQ(error_of("root ::= \"é\" \"\\q\""), "grammar line 1, column 15: unknown escape '\\q'");
    EXPECT_EQ(error_of("root ::= \"\\u12\""), "grammar line 1, column 11: escape needs 4 hex digits");
    EXPECT_EQ(error_of("root ::= \"\\uD800\""), "grammar line 1, column 11: escape is not a Unicode scalar value");
    EXPECT_EQ(error_of("root ::= \"a\"{3,1}"), "grammar line 1, column 13: repetition {3,1} has its maximum below its minimum");
    EXPECT_EQ(error_of("root ::= \"a\"{2"), "grammar line 1, column 15: expected '}' to close the repetition, got the end of the grammar");
    EXPECT_EQ(error_of("root ::= \"a\"{99999}"), "grammar line 1, column 14: repetition count is larger than 10000");
    EXPECT_EQ(error_of("root ::= []"), "grammar line 1, column 10: empty character class '[]' matches nothing");
    EXPECT_EQ(error_of("root ::= \"a\" @"), "grammar line 1, column 14: unexpected '@' (expected a string, a [class], a rule name, '(' or '.')");
    EXPECT_EQ(error_of("root ::= \"a\"\nroot ::= \"b\""), "grammar line 2, column 1: rule 'root' is defined twice (first at line 1, column 1)");
    EXPECT_EQ(error_of("start ::= \"a\""), "grammar: no rule named 'root' (matching starts there)");
    EXPECT_EQ(error_of(""), "grammar line 1, column 1: the grammar has no rules");
    EXPECT_EQ(error_of("root ::= \"a\" root"), "grammar: rule 'root' derives no finite text (every alternative recurses)");
    EXPECT_EQ(error_of(std::string("root ::= \"\xC3\"")), "grammar line 1, column 11: invalid UTF-8");
}

TEST(Grammar, LeftRecursionIsRejected) {
    auto starts = [](const std::string& text, const std::string& prefix) {
        std::string e = error_of(text);
        EXPECT_EQ(e.rfind(prefix, 0), 0u) << e;
    };
    starts("root ::= expr\nexpr ::= expr \"+\" num | num\nnum ::= [0-9]+", "grammar: left recursion: 'expr' -> 'expr'");
    starts("root ::= a\na ::= b \"x\" | \"y\"\nb ::= a \"z\"", "grammar: left recursion: 'a' -> 'b' -> 'a'");
    // Through a part that can match empty text.
    starts("root ::= a\na ::= opt a \"x\" | \"y\"\nopt ::= \"z\"?", "grammar: left recursion: 'a' -> 'a'");
    // A repeated part that matches empty text would repeat forever.
    starts("root ::= (\"x\"?)* \"y\"", "grammar: left recursion: 'root/repetition at line 1, column 16'");
    // Right recursion is fine.
    auto g = compile("root ::= num (\"+\" root)?\nnum ::= [0-9]+");
    EXPECT_TRUE(full_match(g, "1+22+3"));
}

TEST(Grammar, FileErrorsNameTheFile) {
    try {
        hearth::chat::load_gbnf_file("/nonexistent/x.gbnf");
        ADD_FAILURE() << "no error";
    } catch (const hearth::Error& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/x.gbnf: cannot read grammar file");
    }
}

}  // namespace
