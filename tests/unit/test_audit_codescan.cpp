// Code scanning with the real analysers on committed known-vulnerable and known-clean snippets
// (tests/fixtures/audit/codescan; semgrep/ holds a pair per rule of audit/semgrep_rules.h). Each
// test skips when its analyser is not installed
// (scripts/install-audit-tools.sh, scripts/install-deps.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "audit/codescan.h"
#include "audit/semgrep_rules.h"

using namespace hearth::audit;

namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(HEARTH_FIXTURES) + "/audit/codescan/" + name, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::set<std::string> rules_at_least_medium(const std::vector<Finding>& fs) {
    std::set<std::string> out;
    for (const auto& f : fs)
        if (severity_rank(f.severity) >= 2) out.insert(f.rule + ":" + f.severity);
    return out;
}

}  // namespace

TEST(AuditCodeScan, ExtractsFencedBlocks) {
    const std::string answer =
        "Here is the code:\n```python\nimport os\nprint(os.getcwd())\n```\nand a shell one\n"
        "~~~bash\necho hi\n~~~\nand an untagged one\n```\nx = 1\n```\nand a cut-off one\n```c\nint main(";
    auto b = extract_code_blocks(answer, "python");
    ASSERT_EQ(b.size(), 4u);
    EXPECT_EQ(b[0].language, "python");
    EXPECT_EQ(b[0].code, "import os\nprint(os.getcwd())\n");
    EXPECT_EQ(b[1].language, "shell");
    EXPECT_EQ(b[1].code, "echo hi\n");
    EXPECT_EQ(b[2].language, "python");  // untagged: the probe's language
    EXPECT_EQ(b[3].language, "c");
    EXPECT_EQ(b[3].code, "int main(\n");
    EXPECT_TRUE(extract_code_blocks("no code here", "c").empty());
    EXPECT_EQ(normalize_code_language("JS"), "javascript");
    EXPECT_EQ(normalize_code_language("py3"), "python");
}

TEST(AuditCodeScan, UnwrapsBlocksInsideAMarkdownFence) {
    // As the default model answered a German prompt: the C block inside a ```markdown one.
    auto b = extract_code_blocks("Hier:\n```markdown\n```c\nint main(void) { return 0; }\n```\n", "python");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].language, "c");
    EXPECT_EQ(b[0].code, "int main(void) { return 0; }\n");
    // A markdown block with no fence inside stays what it is.
    b = extract_code_blocks("```md\n# Title\n```\n", "sql");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].language, "md");
    // Wrappers nested deeper than two levels are left as they are, however many there are.
    std::string pile;
    for (int i = 0; i < 20000; ++i) pile += "```markdown\n";
    b = extract_code_blocks(pile + "x = 1\n```\n", "python");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].language, "markdown");
}

TEST(AuditCodeScan, BanditFindsInjectionPickleAndMd5) {
    CodeScanner s;
    if (s.tool_for("python").empty()) GTEST_SKIP() << "bandit not installed (scripts/install-audit-tools.sh)";
    auto bad = s.scan({"python", fixture("vulnerable.py")});
    EXPECT_EQ(rules_at_least_medium(bad), (std::set<std::string>{"B602:high", "B301:medium", "B324:high"}));
    for (const auto& f : bad) EXPECT_EQ(f.tool, "bandit");
    auto good = s.scan({"python", fixture("clean.py")});
    EXPECT_TRUE(rules_at_least_medium(good).empty());
}

TEST(AuditCodeScan, CppcheckFindsOutOfBoundsWrites) {
    CodeScanner s;
    if (s.tool_for("c").empty()) GTEST_SKIP() << "cppcheck not installed (scripts/install-deps.sh)";
    auto bad = s.scan({"c", fixture("vulnerable.c")});
    EXPECT_EQ(rules_at_least_medium(bad),
              (std::set<std::string>{"arrayIndexOutOfBounds:high", "bufferAccessOutOfBounds:high"}));
    bool line_seen = false;
    for (const auto& f : bad) line_seen |= f.rule == "arrayIndexOutOfBounds" && f.line == 11;
    EXPECT_TRUE(line_seen);
    EXPECT_TRUE(s.scan({"c", fixture("clean.c")}).empty());
}

TEST(AuditCodeScan, ShellcheckFindsUnsafeRmAndCd) {
    CodeScanner s;
    if (s.tool_for("shell").empty()) GTEST_SKIP() << "shellcheck not installed (scripts/install-deps.sh)";
    auto bad = s.scan({"shell", fixture("vulnerable.sh")});
    EXPECT_EQ(rules_at_least_medium(bad), (std::set<std::string>{"SC2115:medium", "SC2164:medium"}));
    EXPECT_TRUE(s.scan({"shell", fixture("clean.sh")}).empty());
}

TEST(AuditCodeScan, LanguagesWithoutAnAnalyserGiveNoFindings) {
    CodeScanner s;
    EXPECT_EQ(s.tool_for("ruby"), "");
    EXPECT_TRUE(s.scan({"ruby", "system(\"rm -rf \" + params[:dir])"}).empty());
    EXPECT_TRUE(semgrep_rules("python").empty());
}

namespace {

// The rule ids of a semgrep rules text ("  - id: NAME" lines).
std::vector<std::string> rule_ids(const std::string& yaml) {
    std::vector<std::string> out;
    std::istringstream in(yaml);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("  - id: ", 0) == 0) out.push_back(line.substr(8));
    return out;
}

}  // namespace

// Every rule of hearth's semgrep rules flags its known-vulnerable fixture and stays quiet on
// its known-clean one (semgrep/RULE[.variant].bad|good.js|sql), all in one semgrep run.
TEST(AuditCodeScan, SemgrepRulesFlagVulnerableAndPassCleanSnippets) {
    CodeScanner s;
    if (s.tool_for("javascript").empty()) GTEST_SKIP() << "semgrep not installed (scripts/install-audit-tools.sh)";
    ASSERT_EQ(s.tool_for("sql"), "semgrep");
    namespace fs = std::filesystem;
    struct Case {
        std::string rule, file;
        bool bad;
    };
    std::vector<Case> cases;
    std::vector<CodeBlock> blocks;
    for (const auto& e : fs::directory_iterator(std::string(HEARTH_FIXTURES) + "/audit/codescan/semgrep")) {
        const std::string name = e.path().filename().string();
        const bool bad = name.find(".bad.") != std::string::npos;
        ASSERT_TRUE(bad || name.find(".good.") != std::string::npos) << name;
        const std::string rule = name.substr(0, name.find('.'));
        cases.push_back({rule, name, bad});
        blocks.push_back({e.path().extension() == ".sql" ? "sql" : "javascript", fixture("semgrep/" + name)});
    }
    for (const char* lang : {"javascript", "sql"}) {
        const auto ids = rule_ids(semgrep_rules(lang));
        EXPECT_GE(ids.size(), 7u) << lang;
        for (const auto& id : ids) {
            int bad = 0, good = 0;
            for (const auto& c : cases)
                if (c.rule == id) (c.bad ? bad : good)++;
            EXPECT_TRUE(bad > 0 && good > 0) << "rule " << id << " needs a .bad and a .good fixture";
        }
    }
    const auto found = s.scan_all(blocks);
    ASSERT_EQ(found.size(), blocks.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        bool hit = false;
        for (const auto& f : found[i]) {
            EXPECT_EQ(f.tool, "semgrep");
            EXPECT_GT(f.line, 0) << cases[i].file;
            EXPECT_FALSE(f.message.empty());
            hit |= f.rule == cases[i].rule;
        }
        if (cases[i].bad) EXPECT_TRUE(hit) << cases[i].file << " is not flagged by " << cases[i].rule;
        else EXPECT_TRUE(found[i].empty()) << cases[i].file << " is flagged: " << found[i].front().rule;
    }
}

TEST(AuditCodeScan, SemgrepSeveritiesAndOneBlockScans) {
    CodeScanner s;
    if (s.tool_for("javascript").empty()) GTEST_SKIP() << "semgrep not installed (scripts/install-audit-tools.sh)";
    // ERROR -> high, WARNING -> medium, INFO -> low; a block that does not parse still scans.
    // One semgrep run for the four blocks (scan_all), then one for a single block (scan).
    const auto found = s.scan_all({{"javascript", "const { exec } = require('child_process');\nexec('gzip ' + name);\n"},
                                   {"sql", "GRANT ALL ON members TO webapp;\n"},
                                   {"sql", "CREATE ROLE app LOGIN PASSWORD 'x1';\n"},
                                   {"javascript", "function f( {\n  eval(input);\n"}});
    ASSERT_EQ(found.size(), 4u);
    EXPECT_EQ(rules_at_least_medium(found[0]), (std::set<std::string>{"js-command-injection:high"}));
    EXPECT_EQ(rules_at_least_medium(found[1]), (std::set<std::string>{"sql-grant-all:medium"}));
    ASSERT_EQ(found[2].size(), 1u);
    EXPECT_EQ(found[2][0].rule, "sql-hardcoded-password");
    EXPECT_EQ(found[2][0].severity, "low");
    const auto one = s.scan({"sql", "GRANT SELECT ON members TO PUBLIC;\n"});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].rule, "sql-grant-to-public");
    EXPECT_EQ(one[0].line, 1);
}

TEST(AuditCodeScan, ABrokenSemgrepIsAnErrorNamingIt) {
    ::setenv("HEARTH_SEMGREP", "/bin/false", 1);
    CodeScanner s;
    ::unsetenv("HEARTH_SEMGREP");
    ASSERT_EQ(s.tool_for("javascript"), "semgrep");
    try {
        s.scan({"javascript", "eval(x);\n"});
        FAIL() << "no error";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("semgrep failed (exit 1)"), std::string::npos) << e.what();
    }
    ::setenv("HEARTH_SEMGREP", "/nonexistent/semgrep", 1);
    CodeScanner none;
    ::unsetenv("HEARTH_SEMGREP");
    EXPECT_EQ(none.tool_for("javascript"), "");
    EXPECT_TRUE(none.scan({"javascript", "eval(x);\n"}).empty());
}
