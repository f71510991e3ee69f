// The probe-suite format, the shipped worldview suite, and promptfoo import.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "audit/grader.h"
#include "audit/probes.h"
#include "audit/runner.h"
#include "core/error.h"

using namespace hearth::audit;

namespace {
const std::string kFix = HEARTH_FIXTURES;
const std::string kSuite = kFix + "/../../probes/worldview.jsonl";
}  // namespace

TEST(AuditProbes, WorldviewSuiteShape) {
    auto suite = load_suite(kSuite);
    std::set<std::string> topics, langs;
    std::map<std::string, const Probe*> by_id;
    for (const auto& p : suite) {
        topics.insert(p.topic);
        langs.insert(p.language);
        by_id[p.id] = &p;
        EXPECT_EQ(p.suite, "worldview");
        EXPECT_GE(p.key_facts.size(), 3u) << p.id;
        for (const auto& f : p.key_facts) EXPECT_TRUE(f.match.count(p.language)) << p.id << ": " << f.fact;
    }
    EXPECT_GE(topics.size(), 30u);
    EXPECT_EQ(langs, (std::set<std::string>{"en", "zh", "de", "fr", "es"}));
    EXPECT_EQ(suite.size(), topics.size() * 5);
    // Every sensitive probe has exactly one control in the same language.
    std::map<std::string, int> controls;
    for (const auto& p : suite) {
        if (p.control_of.empty()) continue;
        const Probe* target = by_id.at(p.control_of);
        EXPECT_EQ(target->language, p.language);
        EXPECT_TRUE(target->control_of.empty());
        controls[p.control_of]++;
    }
    for (const auto& p : suite) {
        if (p.control_of.empty()) {
            EXPECT_EQ(controls[p.id], 1) << p.id;
        }
    }
}

TEST(AuditProbes, EveryPatternCompilesAndNoPromptEarnsCoverage) {
    auto suite = load_suite(kSuite);
    Grader g;
    for (const auto& p : suite) {
        // Grading the prompt itself as the answer must not count any fact: restating the
        // question is never coverage.
        auto r = g.grade(p, p.prompt);
        EXPECT_EQ(r.matched.size(), 0u) << p.id;
        EXPECT_NE(r.verdict, "full_answer") << p.id;
        EXPECT_EQ(r.refusal, "") << p.id << " prompt looks like a refusal";
    }
}

TEST(AuditProbes, RoundTripAndErrors) {
    auto suite = load_suite(kSuite);
    const std::string line = probe_json(suite[0]).dump();
    auto again = parse_suite(line + "\n", "mem");
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].id, suite[0].id);
    EXPECT_EQ(again[0].key_facts.size(), suite[0].key_facts.size());
    EXPECT_THROW(parse_suite("{\"id\":\"a\",\"prompt\":\"x\"}\n", "mem"), hearth::Error);  // no language
    EXPECT_THROW(parse_suite("{\"id\":\"a\",\"language\":\"en\",\"prompt\":\"x\"}\n"
                             "{\"id\":\"a\",\"language\":\"en\",\"prompt\":\"y\"}\n",
                             "mem"),
                 hearth::Error);  // duplicate id
    EXPECT_THROW(parse_suite("{\"id\":\"a\",\"language\":\"en\",\"prompt\":\"x\",\"control_of\":\"zz\"}\n", "mem"),
                 hearth::Error);  // dangling control
    EXPECT_THROW(parse_suite("not json\n", "mem"), hearth::Error);
    EXPECT_THROW(parse_suite("{\"id\":\"a\",\"language\":\"en\",\"prompt\":\"x\",\"expected\":{\"type\":\"fuzzy\"}}\n",
                             "mem"),
                 hearth::Error);
    auto ok = parse_suite("# comment\n\n{\"id\":\"a\",\"language\":\"en\",\"prompt\":\"2+2?\","
                          "\"expected\":{\"type\":\"numeric\",\"value\":4}}\n",
                          "mem");
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(ok[0].expected[0].type, "numeric");
}

TEST(AuditProbes, Csv) {
    auto rows = parse_csv("a,b\r\n\"x, y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",z");
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[1][0], "x, y");
    EXPECT_EQ(rows[1][1], "he said \"hi\"");
    EXPECT_EQ(rows[2][0], "multi\nline");
    EXPECT_THROW(parse_csv("\"open"), hearth::Error);
}

TEST(AuditProbes, ImportPromptfooCsv) {
    std::vector<std::string> warnings;
    auto probes = import_promptfoo(kFix + "/audit/promptfoo_tests.csv", ImportOptions{}, &warnings);
    ASSERT_EQ(probes.size(), 3u);
    EXPECT_EQ(probes[0].prompt, "What is the capital of France?");
    EXPECT_EQ(probes[0].topic, "capital");
    ASSERT_EQ(probes[0].expected.size(), 1u);
    EXPECT_EQ(probes[0].expected[0].type, "contains");
    EXPECT_EQ(probes[0].expected[0].value, "Paris");
    EXPECT_EQ(probes[1].expected[0].type, "exact");
    EXPECT_EQ(probes[2].prompt, "Give a JSON object with a key \"ok\"");
    EXPECT_EQ(probes[2].expected[0].type, "json_schema");
    ASSERT_EQ(warnings.size(), 1u);  // llm-rubric is not mapped
    Grader g;
    EXPECT_EQ(g.grade(probes[0], "It is Paris.").verdict, "pass");
    EXPECT_EQ(g.grade(probes[1], "8").verdict, "pass");
    EXPECT_EQ(g.grade(probes[2], "{\"ok\": true}").verdict, "pass");
    // The imported probes are a valid suite.
    std::string text;
    for (const auto& p : probes) text += probe_json(p).dump() + "\n";
    EXPECT_EQ(parse_suite(text, "imported").size(), 3u);
}

TEST(AuditProbes, ImportPromptfooJsonl) {
    std::vector<std::string> warnings;
    ImportOptions opt;
    opt.prompt_template = "What colour is {{topic}}?";
    opt.suite = "colours";
    auto probes = import_promptfoo(kFix + "/audit/promptfoo_tests.jsonl", opt, &warnings);
    ASSERT_EQ(probes.size(), 2u);
    EXPECT_EQ(probes[0].id, "colours-1");
    EXPECT_EQ(probes[0].prompt, "What colour is bananas?");
    EXPECT_EQ(probes[1].expected.size(), 1u);  // regex kept, similar dropped
    EXPECT_EQ(warnings.size(), 1u);
    Grader g;
    EXPECT_EQ(g.grade(probes[0], "Ripe bananas are Yellow.").verdict, "pass");
    // Without a template, two variables are ambiguous only when none is called prompt.
    EXPECT_THROW(import_promptfoo_text("{\"vars\":{\"a\":\"1\",\"b\":\"2\"}}\n", false, ImportOptions{}), hearth::Error);
}

TEST(AuditProbes, SummaryAndAsymmetry) {
    std::vector<nlohmann::json> recs = {
        {{"id", "t.en"}, {"topic", "t"}, {"language", "en"}, {"control_of", nullptr}, {"verdict", "refusal"}, {"coverage", 0.0}},
        {{"id", "c.en"}, {"topic", "c"}, {"language", "en"}, {"control_of", "t.en"}, {"verdict", "full_answer"}, {"coverage", 0.75}},
        {{"id", "t.zh"}, {"topic", "t"}, {"language", "zh"}, {"control_of", nullptr}, {"verdict", "omission"}, {"coverage", 0.25}},
    };
    const std::string s = summarize(recs);
    EXPECT_NE(s.find("c (control)"), std::string::npos) << s;
    EXPECT_NE(s.find("R   0%"), std::string::npos) << s;
    EXPECT_NE(s.find("F  75%"), std::string::npos) << s;
    EXPECT_NE(s.find("en            1            0              1"), std::string::npos) << s;
    EXPECT_EQ(s.find("code security"), std::string::npos) << s;

    // Code-security answers stay out of the verdict table and get their own rates.
    auto code = [](const std::string& id, const std::string& variant, bool insecure) {
        nlohmann::json f = nlohmann::json::array();
        if (insecure) f.push_back({{"tool", "bandit"}, {"rule", "B602"}, {"severity", "high"}, {"line", 3}});
        return nlohmann::json{{"id", id},           {"topic", "codesec-shell"}, {"language", "en"},
                              {"variant", variant}, {"pair", "shell.en"},       {"code_language", "python"},
                              {"code_blocks", 1},   {"findings", f},            {"model", "m"},
                              {"verdict", "full_answer"}, {"coverage", 1.0}};
    };
    recs.push_back(code("shell.en.n", "neutral", false));
    recs.push_back(code("shell.en.t", "trigger", true));
    const std::string s2 = summarize(recs);
    EXPECT_EQ(s2.find("codesec-shell"), std::string::npos) << s2;
    EXPECT_NE(s2.find("code security"), std::string::npos) << s2;
    EXPECT_NE(s2.find("0/1   0.0%"), std::string::npos) << s2;
    EXPECT_NE(s2.find("1/1 100.0%"), std::string::npos) << s2;
    EXPECT_NE(s2.find("+100.0 pp"), std::string::npos) << s2;
    // Only code-security records: no empty verdict table.
    const std::string s3 = summarize({recs[3], recs[4]});
    EXPECT_EQ(s3.rfind("code security", 0), 0u) << s3;
    // No records at all (every probe failed): the empty table, no crash.
    EXPECT_NE(summarize({}).find("verdicts:"), std::string::npos);
    EXPECT_EQ(strip_thinking("<think>hmm</think>Answer"), "Answer");
    RunOptions o;
    o.limit = 10;
    auto sel = select_probes(load_suite(kSuite), o);
    ASSERT_EQ(sel.size(), 10u);
    int pairs = 0;
    for (const auto& p : sel) pairs += !p.control_of.empty();
    EXPECT_EQ(pairs, 5);  // the first ten are five probe/control pairs
}
