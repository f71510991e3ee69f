// Code scanning with the real analysers on committed known-vulnerable and known-clean snippets
// (tests/fixtures/audit/codescan). Each test skips when its analyser is not installed
// (scripts/install-audit-tools.sh, scripts/install-deps.sh).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "audit/codescan.h"

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
    EXPECT_EQ(s.tool_for("javascript"), "");
    EXPECT_EQ(s.tool_for("sql"), "");
    EXPECT_TRUE(s.scan({"sql", "SELECT * FROM t WHERE id = '" "' + id"}).empty());
}
