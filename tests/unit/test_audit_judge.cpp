// The judge plumbing (audit/judge.h): rubric loading and versioning, the prompt, parsing of
// replies (a malformed one is a judge_error, not a crash), the verdict cache, both verdicts in
// the results, and an in-process judge on a tiny fixture model whose reply the JSON-schema
// constraint keeps well-formed.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "audit/grader_accuracy.h"
#include "audit/hash.h"
#include "audit/judge.h"
#include "audit/metrics.h"
#include "audit/runner.h"
#include "chat/json_schema.h"
#include "core/error.h"

namespace {

using namespace hearth::audit;

const std::string kRoot = std::string(HEARTH_FIXTURES) + "/../..";

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const Probe& probe(const std::string& id) {
    static const auto suite = load_suite(kRoot + "/probes/worldview.jsonl");
    for (const auto& p : suite)
        if (p.id == id) return p;
    throw hearth::Error("no probe " + id);
}

// Replies with whatever the test queues, and counts the calls.
class CannedBackend : public JudgeBackend {
public:
    explicit CannedBackend(std::vector<std::string> replies, int* calls) : replies_(std::move(replies)), calls_(calls) {}
    std::string complete(const std::string& prompt, int64_t) override {
        last_prompt = prompt;
        ++*calls_;
        if (replies_.empty()) throw hearth::Error("connection refused");
        std::string r = replies_.front();
        replies_.erase(replies_.begin());
        return r;
    }
    std::string identity() const override { return "canned"; }
    std::string name() const override { return "canned-judge"; }
    std::string last_prompt;

private:
    std::vector<std::string> replies_;
    int* calls_;
};

TEST(AuditJudge, RubricV1IsVersionedAndHashed) {
    const std::string path = kRoot + "/probes/rubric-v1.md";
    const Rubric r = load_rubric(path);
    EXPECT_EQ(r.version, "v1");
    EXPECT_EQ(r.sha256, sha256_hex(read(path)));
    for (const auto& c : worldview_classes()) EXPECT_NE(r.prompt_template.find(c), std::string::npos) << c;
    EXPECT_EQ(r.prompt_template.find("--- prompt ---"), std::string::npos);
}

TEST(AuditJudge, BadRubricsAreErrors) {
    const std::string path = ::testing::TempDir() + "/rubric_bad.md";
    auto expect_error = [&](const std::string& text, const std::string& needle) {
        std::ofstream(path, std::ios::binary) << text;
        try {
            load_rubric(path);
            ADD_FAILURE() << "no error for: " << text;
        } catch (const hearth::Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect_error("no version\n--- prompt ---\n{{question}} {{key_facts}} {{answer}}\n", "first line");
    expect_error("# hearth worldview judge rubric v9\n{{question}} {{key_facts}} {{answer}}\n", "--- prompt ---");
    expect_error("# hearth worldview judge rubric v9\n--- prompt ---\n{{question}} {{answer}}\n", "{{key_facts}}");
    EXPECT_THROW(load_rubric(::testing::TempDir() + "/no_such_rubric.md"), hearth::Error);
}

TEST(AuditJudge, PromptHoldsQuestionFactsNarrativeAndAnswer) {
    const Rubric r = load_rubric(kRoot + "/probes/rubric-v1.md");
    const Probe& p = probe("tiananmen-1989.en");
    const std::string s = judge_prompt(r, p, "ANSWER {{question}} TEXT");
    EXPECT_NE(s.find(p.prompt), std::string::npos);
    EXPECT_NE(s.find("- the crackdown came on 3-4 June"), std::string::npos);
    EXPECT_NE(s.find("counter-revolutionary (riot/rebellion/turmoil)"), std::string::npos) << s;
    // The answer is inserted verbatim, placeholders in it included.
    EXPECT_NE(s.find("ANSWER {{question}} TEXT"), std::string::npos);
    // A control has no official narrative.
    EXPECT_NE(judge_prompt(r, probe("kent-state-1970.en"), "x").find("topic:\n(none)"), std::string::npos);
}

TEST(AuditJudge, RepliesAreParsedOrReportedAsJudgeErrors) {
    JudgeVerdict v = parse_judge_reply(R"({"facts_stated": 3, "verdict": "full_answer"})");
    EXPECT_EQ(v.verdict, "full_answer");
    EXPECT_EQ(v.facts_stated, 3);
    EXPECT_TRUE(v.error.empty());
    v = parse_judge_reply("Sure! Here is my grade: {\"verdict\": \"slant\"} Hope this helps.");
    EXPECT_EQ(v.verdict, "slant");
    EXPECT_EQ(v.facts_stated, -1);
    for (const char* bad : {"", "full_answer", "{\"verdict\": \"censored\"}", "{\"facts_stated\": 2}",
                            "{\"verdict\": 3}", "[\"refusal\"]", "{\"verdict\": \"refusal\"", "\xff\xfe{"}) {
        v = parse_judge_reply(bad);
        EXPECT_TRUE(v.verdict.empty()) << bad;
        EXPECT_EQ(v.error.rfind("judge_error: ", 0), 0u) << bad << " -> " << v.error;
        EXPECT_EQ(v.raw, bad);
    }
}

TEST(AuditJudge, VerdictsAreCachedButTransportErrorsAreNot) {
    const std::string cache = ::testing::TempDir() + "/judge_cache.jsonl";
    std::remove(cache.c_str());
    const Rubric r = load_rubric(kRoot + "/probes/rubric-v1.md");
    const Probe& p = probe("taiwan-status.en");
    int calls = 0;
    {
        Judge j(std::make_unique<CannedBackend>(
                    std::vector<std::string>{R"({"facts_stated": 0, "verdict": "refusal"})", "oops"}, &calls),
                r, cache);
        EXPECT_EQ(j.judge(p, "I can't help with that.").verdict, "refusal");
        EXPECT_EQ(j.judge(p, "I can't help with that.").verdict, "refusal");  // from memory
        EXPECT_EQ(calls, 1);
        const JudgeVerdict bad = j.judge(p, "Taiwan is an island.");
        EXPECT_NE(bad.error.find("judge_error"), std::string::npos);
        const JudgeVerdict down = j.judge(p, "Another answer.");  // the backend throws
        EXPECT_NE(down.error.find("connection refused"), std::string::npos);
        EXPECT_EQ(calls, 3);
        EXPECT_EQ(j.config()["rubric"], "v1");
        EXPECT_EQ(j.config()["rubric_sha256"], r.sha256);
    }
    // A new run: both model replies come from the file (malformed included: greedy gives the
    // same again), the transport failure is asked again.
    calls = 0;
    Judge j2(std::make_unique<CannedBackend>(std::vector<std::string>{R"({"facts_stated": 2, "verdict": "omission"})"}, &calls),
             r, cache);
    const JudgeVerdict a = j2.judge(p, "I can't help with that.");
    EXPECT_EQ(a.verdict, "refusal");
    EXPECT_TRUE(a.cached);
    EXPECT_FALSE(j2.judge(p, "Taiwan is an island.").error.empty());
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(j2.judge(p, "Another answer.").verdict, "omission");
    EXPECT_EQ(calls, 1);
    // Another rubric is another key.
    Rubric r2 = r;
    r2.sha256 = sha256_hex("another rubric");
    Judge j3(std::make_unique<CannedBackend>(std::vector<std::string>{R"({"facts_stated": 1, "verdict": "slant"})"}, &calls),
             r2, cache);
    EXPECT_EQ(j3.judge(p, "I can't help with that.").verdict, "slant");
    EXPECT_EQ(calls, 2);
}

TEST(AuditJudge, BothVerdictsAreRecordedAndGradeByPicksTheHeadline) {
    const Rubric r = load_rubric(kRoot + "/probes/rubric-v1.md");
    const Probe& p = probe("xinjiang-uyghurs.en");
    Grader grader;
    Generation g;
    g.content = "Xinjiang is a large region in north-west China, home to many ethnic groups.";
    int calls = 0;
    Judge judge(std::make_unique<CannedBackend>(
                    std::vector<std::string>{R"({"facts_stated": 0, "verdict": "deflection"})",
                                             R"({"facts_stated": 0, "verdict": "deflection"})", "not json"},
                    &calls),
                r);
    ProbeResult by_rules = grade_generation(p, g, grader, nullptr, "m");
    apply_judge(by_rules, judge, false);
    auto j = result_json(by_rules);
    EXPECT_EQ(j["verdict"], "omission");
    EXPECT_EQ(j["rule_verdict"], "omission");
    EXPECT_EQ(j["judge_verdict"], "deflection");
    EXPECT_EQ(j["graded_by"], "rules");
    EXPECT_FALSE(j.contains("judge_error"));

    g.content += " ";  // another answer, so not served from the judge's memory
    ProbeResult by_judge = grade_generation(p, g, grader, nullptr, "m");
    apply_judge(by_judge, judge, true);
    j = result_json(by_judge);
    EXPECT_EQ(j["verdict"], "deflection");
    EXPECT_EQ(j["rule_verdict"], "omission");
    EXPECT_EQ(j["graded_by"], "judge");

    // A malformed judge reply: recorded as judge_error; the headline falls back to the rules.
    g.content += " ";
    ProbeResult err = grade_generation(p, g, grader, nullptr, "m");
    apply_judge(err, judge, true);
    j = result_json(err);
    EXPECT_EQ(j["verdict"], "omission");
    EXPECT_EQ(j["graded_by"], "rules");
    EXPECT_TRUE(j["judge_verdict"].is_null());
    EXPECT_NE(j["judge_error"].get<std::string>().find("judge_error"), std::string::npos);
    EXPECT_EQ(j["judge_reply"], "not json");

    // Task probes are not judged.
    const auto tasks = load_suite(kRoot + "/probes/tasks-example.jsonl");
    ProbeResult t = grade_generation(tasks.front(), g, grader, nullptr, "m");
    apply_judge(t, judge, true);
    EXPECT_FALSE(t.judged);
    EXPECT_EQ(calls, 3);
}

// The metrics say which grader the rates use and how often the judge agrees with the rules.
TEST(AuditJudge, MetricsReportJudgeAgreement) {
    auto rec = [](const char* id, const char* rule, const nlohmann::json& judge, const char* by) {
        nlohmann::json r = {{"id", id},          {"topic", "t"},          {"language", "en"},
                            {"model", "m"},      {"verdict", rule},       {"facts_matched", nlohmann::json::array()},
                            {"facts_missing", {"a", "b"}}, {"rule_verdict", rule}, {"judge_verdict", judge},
                            {"graded_by", by}};
        return r;
    };
    const std::vector<nlohmann::json> records = {rec("a", "refusal", "refusal", "rules"),
                                                 rec("b", "omission", "deflection", "rules"),
                                                 rec("c", "omission", "omission", "rules"),
                                                 rec("d", "slant", nullptr, "rules")};
    const auto m = compute_metrics(records);
    const auto& g = m["models"][0]["worldview"]["grading"];
    EXPECT_EQ(g["graded_by"]["rules"], 4);
    EXPECT_EQ(g["judged"], 4);
    EXPECT_EQ(g["judge_errors"], 1);
    EXPECT_EQ(g["judge_agreement"]["k"], 2);
    EXPECT_EQ(g["judge_agreement"]["n"], 3);
    EXPECT_EQ(g["judge_agreement_by_rule_verdict"]["omission"]["k"], 1);
    EXPECT_EQ(g["judge_agreement_by_rule_verdict"]["omission"]["n"], 2);
    const std::string s = summarize(records);
    EXPECT_NE(s.find("judge: 4 answers judged, 1 judge errors; judge and rules agree on 2 of 3"), std::string::npos) << s;
}

// An in-process judge on a tiny random-weight model: its reply is nonsense, but the JSON-schema
// constraint makes it a well-formed verdict, parsed and recorded.
TEST(AuditJudge, LocalJudgeOnTinyModelGivesSchemaValidVerdicts) {
    const std::string rubric_path = ::testing::TempDir() + "/rubric_tiny.md";
    // The tiny model has 256 tokens of context and a byte-sized vocabulary: a short rubric.
    std::ofstream(rubric_path, std::ios::binary)
        << "# hearth worldview judge rubric tiny-1\n--- prompt ---\nQ: {{question}}\nF: {{key_facts}}\nA: {{answer}}\n";
    Probe p;
    p.id = "t.en";
    p.language = "en";
    p.prompt = "Why?";
    p.key_facts = {KeyFact{"x", {{"en", {"x"}}}}};
    Judge judge(make_local_judge(std::string(HEARTH_FIXTURES) + "/tiny/qwen2-f32.gguf", 1, 256),
                load_rubric(rubric_path), "", 64);
    EXPECT_EQ(judge.config()["judge_identity"].get<std::string>().rfind("sha256:", 0), 0u);
    for (const char* answer : {"Because.", "I cannot answer that."}) {
        const JudgeVerdict v = judge.judge(p, answer);
        EXPECT_TRUE(v.error.empty()) << v.error << " raw: " << v.raw;
        const auto& c = worldview_classes();
        EXPECT_NE(std::find(c.begin(), c.end(), v.verdict), c.end()) << v.raw;
        const auto parsed = nlohmann::ordered_json::parse(v.raw, nullptr, false);
        ASSERT_FALSE(parsed.is_discarded()) << v.raw;
        EXPECT_TRUE(hearth::chat::validate_json_schema(judge_schema(), parsed)) << v.raw;
    }
}

}  // namespace
