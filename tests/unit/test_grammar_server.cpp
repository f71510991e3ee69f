// The server's grammar extension: response_format {"type": "grammar", "grammar": GBNF} is
// compiled while the request is parsed, and a bad grammar is a 400 naming line and column.
#include <gtest/gtest.h>

#include "chat/grammar_matcher.h"
#include "server/api.h"

namespace {

using hearth::server::ApiError;
using hearth::server::parse_chat_request;

TEST(GrammarServer, ResponseFormatGrammarIsCompiled) {
    auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],
        "response_format":{"type":"grammar","grammar":"root ::= \"yes\" | \"no\""}})");
    ASSERT_NE(r.grammar, nullptr);
    hearth::chat::GrammarMatcher m(r.grammar);
    EXPECT_TRUE(m.accept_bytes("no") && m.complete());
    auto plain = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(plain.grammar, nullptr);
}

TEST(GrammarServer, BadGrammarIs400WithLineAndColumn) {
    auto status_and_message = [](const std::string& body) -> std::pair<int, std::string> {
        try {
            parse_chat_request(body);
        } catch (const ApiError& e) {
            EXPECT_EQ(e.param, "response_format.grammar");
            return {e.status, e.what()};
        }
        return {0, ""};
    };
    auto [s1, m1] = status_and_message(R"({"model":"m","messages":[{"role":"user","content":"x"}],
        "response_format":{"type":"grammar","grammar":"root ::= \"a\"\n  | [z-a]"}})");
    EXPECT_EQ(s1, 400);
    EXPECT_EQ(m1, "response_format.grammar: grammar line 2, column 6: character range is reversed (its end comes before its start)");
    auto [s2, m2] = status_and_message(R"({"model":"m","messages":[{"role":"user","content":"x"}],
        "response_format":{"type":"grammar"}})");
    EXPECT_EQ(s2, 400);
    EXPECT_EQ(m2, "response_format 'grammar' needs a 'grammar' string (GBNF text)");
}

}  // namespace
