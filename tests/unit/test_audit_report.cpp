// Audit metrics, the HTML report and drift on a small hand-made results file
// (tests/fixtures/audit/results_small.jsonl), whose rates are counted by hand below.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "audit/drift.h"
#include "audit/metrics.h"
#include "audit/report_html.h"
#include "audit/stats.h"
#include "core/error.h"

using namespace hearth::audit;
using json = nlohmann::json;

namespace {

std::vector<json> fixture() { return read_results(std::string(HEARTH_FIXTURES) + "/audit/results_small.jsonl"); }

// Tags must nest (void elements aside); returns "" or what went wrong.
std::string check_nesting(const std::string& html) {
    static const std::set<std::string> void_tags = {"meta", "br", "hr", "img", "input", "link", "col"};
    std::vector<std::string> stack;
    size_t p = 0;
    while ((p = html.find('<', p)) != std::string::npos) {
        if (html.compare(p, 9, "<!DOCTYPE") == 0) {
            p = html.find('>', p);
            continue;
        }
        const bool closing = html[p + 1] == '/';
        size_t a = p + (closing ? 2 : 1), b = html.find_first_of(" >/", a);
        const std::string name = html.substr(a, b - a);
        const size_t end = html.find('>', p);
        if (end == std::string::npos) return "unterminated tag at " + std::to_string(p);
        if (name == "script" && !closing) {  // script text is opaque
            const size_t close = html.find("</script>", end);
            if (close == std::string::npos) return "unclosed script";
            p = close + 9;
            continue;
        }
        if (closing) {
            if (stack.empty() || stack.back() != name) return "unexpected </" + name + ">";
            stack.pop_back();
        } else if (!void_tags.count(name) && html[end - 1] != '/') {
            stack.push_back(name);
        }
        p = end;
    }
    return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

}  // namespace

TEST(AuditMetrics, WorldviewRatesAndAsymmetry) {
    const auto m = compute_metrics(fixture());
    ASSERT_EQ(m["models"].size(), 1u);
    const auto& w = m["models"][0]["worldview"];
    // Probes (8): refusal a.en a.zh b.zh; soft b.en c.zh; slant c.en (narrative on a full answer)
    // and d.en; full c.en d.zh; divergence b.zh. Controls (8): 7 full, 1 omission.
    EXPECT_EQ(w["probes"]["n"], 8);
    EXPECT_EQ(w["probes"]["refusal"]["k"], 3);
    EXPECT_EQ(w["probes"]["soft"]["k"], 2);
    EXPECT_EQ(w["probes"]["slant"]["k"], 2);
    EXPECT_EQ(w["probes"]["full"]["k"], 2);
    EXPECT_EQ(w["probes"]["divergence"]["k"], 1);
    EXPECT_EQ(w["controls"]["full"]["k"], 7);
    EXPECT_EQ(w["controls"]["soft"]["k"], 1);
    const Interval r = wilson(3, 8);
    EXPECT_DOUBLE_EQ(w["probes"]["refusal"]["lo"].get<double>(), r.lo);
    // Refusal asymmetry: 3 pairs where only the probe refused, 5 where neither did.
    const Interval d = newcombe_paired(0, 3, 0, 5);
    EXPECT_EQ(w["asymmetry"]["refusal"]["pairs"], 8);
    EXPECT_DOUBLE_EQ(w["asymmetry"]["refusal"]["diff"].get<double>(), 0.375);
    EXPECT_DOUBLE_EQ(w["asymmetry"]["refusal"]["lo"].get<double>(), d.lo);
    // Full answers: probe and control both full in 2 pairs (c.en, d.zh), control only in 5.
    EXPECT_DOUBLE_EQ(w["asymmetry"]["full"]["diff"].get<double>(), 2.0 / 8 - 7.0 / 8);
    EXPECT_TRUE(w["asymmetry"]["full"]["significant"].get<bool>());
    ASSERT_EQ(w["by_language"].size(), 2u);
    EXPECT_EQ(w["by_language"][1]["language"], "zh");
    EXPECT_EQ(w["by_language"][1]["probes"]["refusal"]["k"], 2);
}

TEST(AuditMetrics, CodesecAndTasks) {
    const auto m = compute_metrics(fixture())["models"][0];
    const auto& c = m["codesec"];
    EXPECT_EQ(c["neutral"]["k"], 2);
    EXPECT_EQ(c["neutral"]["n"], 3);
    EXPECT_EQ(c["trigger"]["k"], 2);
    EXPECT_EQ(c["paired_diff"]["pairs"], 3);
    EXPECT_DOUBLE_EQ(c["paired_diff"]["diff"].get<double>(), 0.0);
    EXPECT_EQ(c["findings_medium_plus"], 4);
    const auto& t = m["tasks"];
    EXPECT_EQ(t["accuracy"]["k"], 3);
    EXPECT_EQ(t["accuracy"]["n"], 4);
    EXPECT_DOUBLE_EQ(t["mean_latency_s"].get<double>(), 2.5);
    EXPECT_DOUBLE_EQ(t["mean_tokens"].get<double>(), 25.0);
}

TEST(AuditReport, HtmlHoldsTheNumbersAndIsWellFormed) {
    const auto recs = fixture();
    ReportOptions o;
    o.sources = {"results_small.jsonl"};
    o.chartjs_path = "/nonexistent/chart.js";  // tables only; charts are checked in the CLI test
    const std::string html = render_report(recs, o);
    EXPECT_EQ(check_nesting(html), "");
    // The embedded metrics read back equal the computed ones.
    const std::string open = "<script type=\"application/json\" id=\"hearth-metrics\">";
    const size_t a = html.find(open);
    ASSERT_NE(a, std::string::npos);
    const size_t b = html.find("</script>", a);
    std::string text = html.substr(a + open.size(), b - a - open.size());
    for (size_t p = 0; (p = text.find("<\\/", p)) != std::string::npos;) text.replace(p, 3, "</");
    EXPECT_EQ(json::parse(text), json::parse(compute_metrics(recs).dump()));
    // Table cells carry the rates.
    EXPECT_NE(html.find("data-metric=\"refusal\" data-group=\"probes\" data-value=\"0.375\">37.5%"), std::string::npos);
    EXPECT_NE(html.find("data-metric=\"full\" data-group=\"controls\" data-value=\"0.875\">87.5%"), std::string::npos);
    EXPECT_NE(html.find("data-metric=\"pass\" data-group=\"tasks\" data-value=\"0.75\">75.0%"), std::string::npos);
    EXPECT_NE(html.find("Charts omitted"), std::string::npos);
}

TEST(AuditReport, EscapesModelText) {
    auto recs = fixture();
    for (auto& r : recs) r["model"] = "<b>&evil</b>";
    const std::string html = render_report(recs, {});
    EXPECT_EQ(html.find("<b>&evil</b>"), std::string::npos);  // in the JSON it is <b>&evil<\/b>
    EXPECT_NE(html.find("&lt;b&gt;&amp;evil&lt;/b&gt;"), std::string::npos);
    EXPECT_EQ(check_nesting(html), "");
}

TEST(AuditDrift, FlagsASignificantRegression) {
    const auto base = fixture();
    auto cur = base;
    for (auto& r : cur) {
        if (r.contains("failed_expectations")) r["verdict"] = "fail";
        else if (!r.contains("findings")) r["verdict"] = "refusal";
    }
    const auto rows = compare_runs(base, cur);
    ASSERT_FALSE(rows.empty());
    bool refusal = false;
    for (const auto& r : rows) {
        if (r.metric == "refusal") {
            refusal = true;
            EXPECT_EQ(r.pairs, 16);
            EXPECT_DOUBLE_EQ(r.baseline, 3.0 / 16);
            EXPECT_DOUBLE_EQ(r.current, 1.0);
            EXPECT_TRUE(r.regression);
        }
        if (r.metric == "insecure") {
            EXPECT_FALSE(r.significant);  // unchanged
        }
    }
    EXPECT_TRUE(refusal);
    EXPECT_TRUE(any_regression(rows));
    EXPECT_FALSE(any_regression(compare_runs(base, base)));
    EXPECT_NE(drift_text(rows).find("REGRESSION"), std::string::npos);
}

TEST(AuditDrift, RejectsDuplicateIdsAndBadRecords) {
    auto base = fixture();
    auto twice = base;
    twice.push_back(base.front());
    EXPECT_THROW(compare_runs(twice, base), hearth::Error);
    EXPECT_THROW(read_results(std::string(HEARTH_FIXTURES) + "/audit/promptfoo_tests.csv"), hearth::Error);
}
