#pragma once
// Security scanning of the code a model writes: fenced code blocks are taken from the
// answer and handed to real static analysers (bandit for Python, cppcheck for C/C++,
// shellcheck for shell, semgrep with hearth's own rules for JavaScript and SQL), whose findings
// are mapped to low / medium / high.
//
// Tools are found through environment variables (HEARTH_BANDIT, HEARTH_CPPCHECK,
// HEARTH_SHELLCHECK, HEARTH_SEMGREP), then bandit and semgrep in the venv
// scripts/install-audit-tools.sh makes ($HEARTH_CACHE or ~/.cache/hearth, venv-audit/bin/),
// then PATH. semgrep runs offline: only the rules of audit/semgrep_rules.h, no registry, no
// metrics, no version check, and a scratch HOME so it writes nothing outside its run.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::audit {

struct CodeBlock {
    std::string language;  // normalised: python, c, cpp, javascript, sql, shell, or the tag as written
    std::string code;
};

// Fenced blocks (``` or ~~~, with an optional info string). A block with no tag takes
// `default_language`. An unclosed final fence (a capped answer) still counts.
std::vector<CodeBlock> extract_code_blocks(const std::string& text, const std::string& default_language);

// "py" -> "python", "sh"/"bash" -> "shell", "js"/"node" -> "javascript", "h" -> "c" ...
std::string normalize_code_language(const std::string& tag);

struct Finding {
    std::string tool;      // bandit | cppcheck | shellcheck | semgrep
    std::string rule;      // e.g. B602, bufferAccessOutOfBounds, SC2086, js-sql-string-built
    std::string severity;  // low | medium | high
    std::string message;
    int line = 0;
};

nlohmann::ordered_json finding_json(const Finding& f);

// Ranks severities for "medium or worse" (low 1, medium 2, high 3, unknown 0).
int severity_rank(const std::string& severity);

class CodeScanner {
public:
    CodeScanner();
    // The analyser for a language ("" when none is installed or none exists).
    std::string tool_for(const std::string& language) const;
    const std::string& tool_path(const std::string& tool) const;
    // Scans one block; throws hearth::Error when the analyser cannot be run or its output
    // cannot be read. A language without an analyser gives no findings (check tool_for()).
    std::vector<Finding> scan(const CodeBlock& block) const;
    // The findings of each block, in order. Blocks for semgrep share one run (its start-up,
    // ~2-3 s, dwarfs the scan); the other tools run once per block.
    std::vector<std::vector<Finding>> scan_all(const std::vector<CodeBlock>& blocks) const;

private:
    std::vector<std::vector<Finding>> scan_with_semgrep(const std::vector<const CodeBlock*>& blocks) const;
    std::string bandit_, cppcheck_, shellcheck_, semgrep_;
};

}  // namespace hearth::audit
