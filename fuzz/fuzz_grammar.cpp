// libFuzzer target for structured-output compilation: the input is tried as GBNF text and,
// when it parses as JSON, as a JSON schema. Both come from API clients, so either must
// compile or raise hearth::Error; a compiled grammar is then driven over the input bytes to
// exercise the matcher on whatever it accepted.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/grammar.h"
#include "chat/grammar_matcher.h"
#include "core/error.h"

namespace {

void drive(const hearth::chat::Grammar& g, const std::string& bytes) {
    hearth::chat::GrammarMatcher m(std::make_shared<const hearth::chat::Grammar>(g));
    for (size_t i = 0; i < bytes.size() && i < 256; ++i)
        if (!m.accept_byte(static_cast<uint8_t>(bytes[i]))) break;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        drive(hearth::chat::parse_gbnf(text), text);
    } catch (const hearth::Error&) {
    }
    const auto schema = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!schema.is_discarded()) {
        try {
            drive(hearth::chat::Grammar::from_schema(schema), text);
        } catch (const hearth::Error&) {
        }
    }
    return 0;
}
