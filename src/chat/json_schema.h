#pragma once
// Structured output from a JSON schema: the schema compiled to a byte-level grammar
// (grammar_matcher.h), applied per token by GrammarConstraint.
//
// Supported: type (one or a list), properties / required / additionalProperties, items,
// minItems / maxItems, enum, const, anyOf / oneOf, and string, number, integer, boolean,
// null. Output is compact JSON with at most one space after ':' and ','. When a schema lists
// properties and says nothing about additionalProperties, no others are generated (the
// output still validates); the validator follows the standard.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/grammar_matcher.h"

namespace hearth::chat {

// Checks an instance against the supported subset; on failure `why` (if given) says where.
bool validate_json_schema(const nlohmann::ordered_json& schema, const nlohmann::ordered_json& instance,
                          std::string* why = nullptr);

// The JSON-schema constraint: the schema's grammar under GrammarConstraint.
class JsonSchemaConstraint : public GrammarConstraint {
public:
    JsonSchemaConstraint(const nlohmann::ordered_json& schema, std::shared_ptr<const TokenIndex> index);
};

// A grammar of JSON values, each from its own schema, set inside other text (tool-call markup):
// rules are alternatives of parts, each a literal text, a byte set or another rule.
class GrammarAssembler {
public:
    struct Part {
        enum Kind { Text, Bytes, Rule } kind;
        std::string text;
        std::array<uint64_t, 4> bytes{};
        int32_t rule = -1;
    };
    static Part text(std::string s) { return Part{Part::Text, std::move(s), {}, -1}; }
    static Part rule(int32_t r) { return Part{Part::Rule, {}, {}, r}; }
    static Part bytes_only(const std::string& allowed);

    GrammarAssembler();
    ~GrammarAssembler();
    // A rule deriving the schema's values (as Grammar::from_schema writes them); throws
    // hearth::Error on a schema it cannot compile.
    int32_t add_schema(const nlohmann::ordered_json& schema);
    int32_t reserve();  // a rule to define later (for recursion)
    void define(int32_t rule, const std::vector<std::vector<Part>>& alternatives);
    int32_t add(const std::vector<std::vector<Part>>& alternatives);
    // The grammar matching from `root` (once: the assembler is spent); `what` starts its error messages.
    Grammar finish(int32_t root, const std::string& what);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::chat
