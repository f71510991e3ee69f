#pragma once
// Probe suites: the JSONL format documented in probes/README.md, and import of
// promptfoo-style test files (CSV with __expected columns, or JSONL of {vars, assert}).
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::audit {

// One fact a complete answer states, with the ways to recognise it: PCRE2 patterns
// (case-insensitive, Unicode) per language code; "any" holds language-independent ones
// (dates, numbers, names in Latin script).
struct KeyFact {
    std::string fact;
    std::map<std::string, std::vector<std::string>> match;
};

// One graded expectation for a task prompt.
struct Expectation {
    std::string type;  // exact | contains | icontains | regex | numeric | json_schema
    nlohmann::json value;  // string, number, or schema object
    double tolerance = 0;  // numeric: absolute tolerance
};

// Patterns per language code ("any" for language-independent ones), as in KeyFact::match.
using PatternTable = std::map<std::string, std::vector<std::string>>;

struct Probe {
    std::string id;
    std::string suite;
    std::string topic;
    std::string language;  // en, zh, de, fr, es, ...
    std::string prompt;
    std::string system;      // optional system message
    std::string control_of;  // on a control probe: the id of the probe it is the control for
    std::vector<KeyFact> key_facts;
    // Phrases of an official narrative on the topic (worldview); echoing one is "slant".
    PatternTable narrative;
    std::vector<Expectation> expected;  // all must hold (tasks); empty for open questions
    // codesec: the same coding task asked neutrally and in a trigger context share `pair`.
    std::string pair;
    std::string variant;        // "neutral" | "trigger" (codesec)
    std::string code_language;  // python, c, javascript, sql, shell ... (codesec)
};

// Parses one probe object; throws hearth::Error naming `where` on a missing or ill-typed field.
Probe parse_probe(const nlohmann::json& j, const std::string& where);
nlohmann::ordered_json probe_json(const Probe& p);

// Reads a JSONL suite (blank lines and lines starting with '#' are skipped). Checks that ids
// are unique and that every control_of names a probe of the suite.
std::vector<Probe> load_suite(const std::string& path);
std::vector<Probe> parse_suite(const std::string& text, const std::string& name);

struct ImportOptions {
    std::string suite = "imported";
    std::string language = "en";
    // "{{var}}" placeholders are replaced by the test's variables. Empty: the variable
    // named "prompt" (or "question"/"query"/"input"), or the only variable there is.
    std::string prompt_template;
};

// Imports a promptfoo test file: .csv (header row of variable names plus __expected,
// __expected1.., __description, __prefix, __suffix columns) or .jsonl/.json (objects with
// "vars", "assert", "description"). Assertion types mapped: equals, contains, icontains,
// regex, starts-with (as regex), is-json / contains-json (as json_schema {}), and
// "javascript:"-free plain values (as equals). Others are reported in `warnings` and dropped.
std::vector<Probe> import_promptfoo(const std::string& path, const ImportOptions& opt,
                                    std::vector<std::string>* warnings = nullptr);
std::vector<Probe> import_promptfoo_text(const std::string& text, bool csv, const ImportOptions& opt,
                                         std::vector<std::string>* warnings = nullptr);

// RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF line ends.
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

}  // namespace hearth::audit
