#pragma once
// Structured output from a JSON schema: the schema compiled to a byte-level grammar
// (grammar_matcher.h), applied per token by GrammarConstraint.
//
// Supported: type (one or a list), properties / required / additionalProperties, items,
// minItems / maxItems, enum, const, anyOf / oneOf, and string, number, integer, boolean,
// null. Output is compact JSON with at most one space after ':' and ','. When a schema lists
// properties and says nothing about additionalProperties, no others are generated (the
// output still validates); the validator follows the standard.
#include <memory>
#include <string>

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

}  // namespace hearth::chat
