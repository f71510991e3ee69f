// The tokenizer's compact tables: StringList, the open-addressing text -> id index (every
// text found, the first id of a repeated text wins, absent texts miss) and the merge index.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>

#include "tokenizer/base.h"
#include "tokenizer/string_list.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {
namespace {

TEST(StringList, KeepsEveryStringIncludingEmptyOnes) {
    StringList l{"a", "", "long enough to need the heap in a std::string", "b"};
    l.push_back("");
    l.push_back(std::string_view("x\0y", 3));
    ASSERT_EQ(l.size(), 6u);
    EXPECT_EQ(l[0], "a");
    EXPECT_EQ(l[1], "");
    EXPECT_EQ(l[2], "long enough to need the heap in a std::string");
    EXPECT_EQ(l[3], "b");
    EXPECT_EQ(l[4], "");
    EXPECT_EQ(l[5], std::string_view("x\0y", 3));
    EXPECT_TRUE(StringList().empty());
}

// A GGUF string array as the file lays it out: (8-byte length, bytes) back to back.
TEST(StringList, BorrowsLengthPrefixedStringsInPlace) {
    auto buf = std::make_shared<std::string>();
    auto add = [&](std::string_view s) {
        const uint64_t n = s.size();
        buf->append(reinterpret_cast<const char*>(&n), 8);
        buf->append(s);
    };
    const std::vector<std::string> items = {"Hello", "", std::string("x\0y", 3), "Ġworld"};
    for (const auto& s : items) add(s);
    const auto* base = reinterpret_cast<const uint8_t*>(buf->data());
    StringList l = StringList::borrow_length_prefixed(buf, base, items.size(), buf->size());
    ASSERT_EQ(l.size(), items.size());
    for (size_t i = 0; i < items.size(); ++i) EXPECT_EQ(l[i], items[i]) << i;
    EXPECT_EQ(l[0].data(), buf->data() + 8);  // a view into the borrowed bytes, not a copy
    EXPECT_THROW(l.push_back("more"), hearth::Error);
    // A length running past the bytes given is refused.
    EXPECT_THROW(StringList::borrow_length_prefixed(buf, base, items.size(), buf->size() - 1), hearth::Error);
}

TEST(TokenizerTables, EveryTextFindsItsIdAndTheFirstOfARepeatWins) {
    std::mt19937 rng(5);
    VocabData d;
    d.model = "gpt2";
    d.pre = "qwen2";
    std::vector<std::string> texts;
    std::set<std::string> seen;
    while (texts.size() < 5000) {
        std::string s;
        const size_t len = 1 + rng() % 12;
        for (size_t k = 0; k < len; ++k) s += static_cast<char>('a' + rng() % 26);
        if (seen.insert(s).second) texts.push_back(s);
    }
    for (const auto& s : texts) d.tokens.push_back(s);
    d.tokens.push_back(texts[17]);  // a repeated text: id 5000 must not replace id 17
    auto tok = make_tokenizer(std::move(d), "synthetic");
    const auto* base = dynamic_cast<const TokenizerBase*>(tok.get());
    ASSERT_NE(base, nullptr);
    for (size_t i = 0; i < texts.size(); ++i) {
        ASSERT_EQ(base->find_token(texts[i]), static_cast<int32_t>(i)) << texts[i];
        ASSERT_EQ(tok->token_text(static_cast<int32_t>(i)), texts[i]);
    }
    EXPECT_EQ(base->find_token(texts[17]), 17);
    EXPECT_EQ(tok->token_text(5000), texts[17]);
    EXPECT_EQ(base->find_token("ABSENT"), -1);
    EXPECT_EQ(base->find_token(""), -1);
}

TEST(TokenizerTables, MergesApplyByRankAndTheFirstOfARepeatedPairWins) {
    VocabData d;
    d.model = "gpt2";
    d.pre = "qwen2";
    d.tokens = {"a", "b", "c", "ab", "bc", "abc"};
    VocabData d2 = d;
    // "b c" ranks before "a b", so "abc" merges b+c first, then a+bc.
    d.merges = {"b c", "a bc", "a b"};
    auto tok = make_tokenizer(std::move(d), "synthetic");
    EXPECT_EQ(tok->encode("abc", false, false), (std::vector<int32_t>{5}));
    EXPECT_EQ(tok->encode("ab", false, false), (std::vector<int32_t>{3}));
    EXPECT_EQ(tok->encode("cab", false, false), (std::vector<int32_t>{2, 3}));
    // "a b" at rank 0 and again at rank 2: rank 0 holds, so a+b beats b+c (rank 1).
    d2.merges = {"a b", "b c", "a b"};
    auto tok2 = make_tokenizer(std::move(d2), "synthetic");
    EXPECT_EQ(tok2->encode("abc", false, false), (std::vector<int32_t>{3, 2}));
}

}  // namespace
}  // namespace hearth::tokenizer
