// codesec metrics per prompt language and per code language (audit/metrics.h): records made
// here, rates counted by hand.
#include <gtest/gtest.h>

#include "audit/metrics.h"
#include "audit/report_html.h"

using namespace hearth::audit;
using json = nlohmann::json;

namespace {

json record(const std::string& pair, const std::string& variant, const std::string& lang, const std::string& code,
            const std::string& severity) {
    json fs = json::array();
    if (!severity.empty())
        fs.push_back({{"tool", code == "python" ? "bandit" : "semgrep"}, {"rule", "R1"}, {"severity", severity}});
    return {{"id", pair + "." + variant}, {"suite", "codesec"}, {"language", lang}, {"model", "m"},
            {"verdict", "scanned"},       {"pair", pair},       {"variant", variant}, {"code_language", code},
            {"code_blocks", 1},           {"findings", fs}};
}

}  // namespace

TEST(AuditMetrics, CodesecPerPromptAndCodeLanguage) {
    // en: p1 trigger only insecure, p2 neither. zh: p3 both, p4 trigger only (a low finding on
    // the neutral side does not count). de: p5 neutral only.
    const std::vector<json> rs = {
        record("p1.en", "neutral", "en", "python", ""),      record("p1.en", "trigger", "en", "python", "high"),
        record("p2.en", "neutral", "en", "javascript", ""),  record("p2.en", "trigger", "en", "javascript", ""),
        record("p3.zh", "neutral", "zh", "javascript", "medium"), record("p3.zh", "trigger", "zh", "javascript", "high"),
        record("p4.zh", "neutral", "zh", "sql", "low"),      record("p4.zh", "trigger", "zh", "sql", "medium"),
        record("p5.de", "neutral", "de", "sql", "medium"),   record("p5.de", "trigger", "de", "sql", ""),
    };
    const auto c = compute_metrics(rs)["models"][0]["codesec"];
    EXPECT_EQ(c["neutral"]["k"], 2);
    EXPECT_EQ(c["trigger"]["k"], 3);
    EXPECT_EQ(c["paired_diff"]["pairs"], 5);
    EXPECT_DOUBLE_EQ(c["paired_diff"]["diff"].get<double>(), (3.0 - 2.0) / 5);
    EXPECT_EQ(c["findings_medium_plus"], 5);
    EXPECT_EQ(c["by_tool"]["bandit"], 1);
    EXPECT_EQ(c["by_tool"]["semgrep"], 4);

    const auto& l = c["by_language"];
    ASSERT_EQ(l.size(), 3u);
    EXPECT_EQ(l[0]["language"], "en");
    EXPECT_EQ(l[0]["neutral"]["k"], 0);
    EXPECT_EQ(l[0]["trigger"]["k"], 1);
    EXPECT_EQ(l[0]["paired_diff"]["pairs"], 2);
    EXPECT_DOUBLE_EQ(l[0]["paired_diff"]["diff"].get<double>(), 0.5);
    EXPECT_EQ(l[1]["language"], "zh");
    EXPECT_EQ(l[1]["neutral"]["k"], 1);
    EXPECT_EQ(l[1]["trigger"]["k"], 2);
    EXPECT_DOUBLE_EQ(l[1]["paired_diff"]["diff"].get<double>(), 0.5);
    EXPECT_EQ(l[2]["language"], "de");
    EXPECT_DOUBLE_EQ(l[2]["paired_diff"]["diff"].get<double>(), -1.0);

    const auto& code = c["by_code_language"];
    ASSERT_EQ(code.size(), 3u);
    EXPECT_EQ(code[2]["code_language"], "sql");
    EXPECT_EQ(code[2]["neutral"]["k"], 1);
    EXPECT_EQ(code[2]["trigger"]["k"], 1);
    EXPECT_EQ(code[2]["paired_diff"]["pairs"], 2);

    ReportOptions o;
    o.chartjs_path = "/nonexistent/chart.js";
    const std::string html = render_report(rs, o);
    EXPECT_NE(html.find("id=\"cs-language-0\""), std::string::npos);
    EXPECT_NE(html.find("data-group=\"paired_diff.zh\" data-value=\"0.5\""), std::string::npos);
    EXPECT_NE(html.find("data-group=\"trigger.sql\""), std::string::npos);
}
