#pragma once
// hearth's own semgrep rules for code answers in JavaScript and SQL (the codesec suite). They
// are compiled into hearth, so a scan needs neither semgrep's online registry nor a rules file
// next to the binary; CodeScanner writes them to its scratch folder for each run.
#include <string>

namespace hearth::audit {

// The rules YAML for a normalised code language ("javascript", "sql"); "" for any other.
const std::string& semgrep_rules(const std::string& language);

}  // namespace hearth::audit
