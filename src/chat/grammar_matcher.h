#pragma once
// Byte-level grammars and the token-level constraint built on them, shared by the two ways
// structured output is asked for: a JSON schema (json_schema.h) and GBNF grammar text
// (grammar.h). A grammar is rules of alternatives of byte classes and rule references; it
// is matched by a set of parse stacks (so alternatives and optional parts need no
// backtracking) and applied per token: a token may come next only if all its bytes continue
// a valid prefix of a text the grammar derives. Near the token limit the shortest closing
// text is forced, so a capped generation still ends in a complete text.
//
// The matcher expands rule references eagerly, so a grammar must not be left-recursive
// (grammar.cpp rejects such text; the JSON schema builder never makes one).
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampler.h"

namespace hearth::tokenizer {
class Tokenizer;
}

namespace hearth::chat {

struct Grammar {
    struct Elem {
        enum Kind : uint8_t { End, Class, Ref } kind;
        int32_t arg;  // class index or rule id
    };
    std::vector<Elem> elems;                   // alternatives laid out flat, each ends with End
    std::vector<std::vector<int32_t>> rules;   // rule -> start positions of its alternatives
    std::vector<std::array<uint64_t, 4>> classes;  // 256-bit byte sets
    int32_t root = 0;
    std::vector<std::string> shortest;    // the shortest text each rule derives
    std::vector<std::string> rule_names;  // for messages; may be empty (schema grammars)

    bool class_has(int32_t c, uint8_t b) const { return (classes[c][b >> 6] >> (b & 63)) & 1; }
    // Built from a JSON schema here (json_schema.cpp), from GBNF text by parse_gbnf
    // (grammar.h); both throw hearth::Error on bad input.
    static Grammar from_schema(const nlohmann::ordered_json& schema);
};

// Fills g.shortest; throws hearth::Error("<what>: rule 'x' derives no finite text") when a
// rule has no finite derivation.
void compute_shortest(Grammar& g, const std::string& what);

// Where a match stands: every parse stack still alive (top of each is a byte class; an empty
// stack means the text is complete).
class GrammarMatcher {
public:
    using Stack = std::vector<int32_t>;
    explicit GrammarMatcher(std::shared_ptr<const Grammar> g);
    bool accept_byte(uint8_t b);                 // false (state unchanged) if b cannot come next
    bool accept_bytes(const std::string& bytes); // all or nothing
    bool dead() const { return stacks_.empty(); }
    bool complete() const;                       // the text so far is a whole text of the grammar
    std::string shortest_completion() const;     // what closes it quickest
    const Grammar& grammar() const { return *g_; }

    // Internal, used by the token mask.
    const std::vector<Stack>& stacks() const { return stacks_; }
    static void advance(const Grammar& g, const std::vector<Stack>& from, uint8_t b, std::vector<Stack>& to);

private:
    std::shared_ptr<const Grammar> g_;
    std::vector<Stack> stacks_;
};

// Each token's bytes, sorted so tokens sharing a prefix are matched once: built once per
// tokenizer and shared by every constraint on it.
struct TokenIndex {
    std::vector<std::string> bytes;  // by id ("" for control tokens)
    std::vector<uint8_t> eog;        // by id
    std::vector<int32_t> sorted;     // ids with bytes, in byte order
    std::vector<uint32_t> lcp;       // common prefix length of sorted[i] with sorted[i-1]
    const tokenizer::Tokenizer* tok = nullptr;
    static std::shared_ptr<const TokenIndex> build(const tokenizer::Tokenizer& tok);
};

// engine::GenerateOptions::constraint for any Grammar. `label` starts its error messages.
class GrammarConstraint : public engine::TokenConstraint {
public:
    GrammarConstraint(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenIndex> index,
                      std::string label = "grammar constraint");

    bool allows(int32_t id, int64_t tokens_left) override;
    void mask(float* logits, int64_t n_vocab, int64_t tokens_left) override;
    void accept(int32_t id) override;

    bool complete() const { return m_.complete(); }
    // Every token that may come next by the grammar alone (ids; EOG ids when complete).
    std::vector<int32_t> valid_tokens() const;

    struct Stats {
        int64_t allows_calls = 0, mask_calls = 0, forced = 0;
        double seconds = 0;  // time spent in allows/mask/accept
    };
    const Stats& stats() const { return stats_; }

private:
    int64_t tokens_needed(const GrammarMatcher& m) const;
    int32_t forced_token() const;
    // Stack sets met while masking, numbered, with their byte transitions filled in as they
    // are first needed (-2 unknown, -1 dead): inside a string most tokens then cost a few
    // table look-ups.
    int32_t intern(std::vector<GrammarMatcher::Stack>&& s) const;
    int32_t step(int32_t state, uint8_t b) const;
    mutable std::map<std::vector<GrammarMatcher::Stack>, int32_t> intern_;
    mutable std::vector<std::vector<GrammarMatcher::Stack>> sets_;
    mutable std::vector<std::array<int32_t, 256>> trans_;
    std::shared_ptr<const Grammar> g_;
    std::shared_ptr<const TokenIndex> ix_;
    GrammarMatcher m_;
    std::string label_;
    int64_t need_ = 0;  // tokens the shortest completion takes from here
    Stats stats_;
};

}  // namespace hearth::chat
