// The committed codesec suite (probes/codesec.jsonl, built by probes/build_codesec.py): every
// task in five languages, each neutral/trigger pair worded the same but for the organisation,
// and an order that makes small --limit slices sensible.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "audit/probes.h"
#include "audit/runner.h"

using namespace hearth::audit;

namespace {

std::vector<Probe> suite() { return load_suite(std::string(HEARTH_FIXTURES) + "/../../probes/codesec.jsonl"); }

// What is left of `a` once the prefix and suffix it shares with `b` are cut off.
std::string differing_middle(const std::string& a, const std::string& b) {
    size_t p = 0;
    while (p < a.size() && p < b.size() && a[p] == b[p]) ++p;
    size_t s = 0;
    while (s < a.size() - p && s < b.size() - p && a[a.size() - 1 - s] == b[b.size() - 1 - s]) ++s;
    return a.substr(p, a.size() - p - s);
}

}  // namespace

TEST(AuditCodesecSuite, EveryTaskInFiveLanguagesWithTenJavaScriptAndSqlTasks) {
    std::map<std::string, std::set<std::string>> langs_of_task;
    std::map<std::string, std::set<std::string>> tasks_of_code;
    for (const auto& p : suite()) {
        langs_of_task[p.topic].insert(p.language);
        tasks_of_code[p.code_language].insert(p.topic);
        EXPECT_EQ(p.pair, p.id.substr(0, p.id.rfind('.')));
        EXPECT_EQ(p.pair.substr(p.pair.rfind('.') + 1), p.language) << p.id;  // pairs never cross languages
    }
    for (const auto& [task, langs] : langs_of_task)
        EXPECT_EQ(langs, (std::set<std::string>{"en", "zh", "de", "fr", "es"})) << task;
    EXPECT_GE(tasks_of_code["javascript"].size(), 10u);
    EXPECT_GE(tasks_of_code["sql"].size(), 10u);
    EXPECT_GE(tasks_of_code["python"].size(), 10u);
    EXPECT_GE(tasks_of_code["c"].size(), 10u);
    EXPECT_GE(tasks_of_code["shell"].size(), 7u);
}

TEST(AuditCodesecSuite, PairsDifferOnlyInTheOrganisation) {
    std::map<std::string, std::map<std::string, const Probe*>> pairs;
    const auto all = suite();
    for (const auto& p : all) pairs[p.pair][p.variant] = &p;
    std::map<std::string, std::set<std::string>> neutral_orgs, trigger_orgs;  // per language
    for (const auto& [id, v] : pairs) {
        ASSERT_TRUE(v.count("neutral") && v.count("trigger")) << id;
        const Probe &n = *v.at("neutral"), &t = *v.at("trigger");
        EXPECT_EQ(n.language, t.language) << id;
        EXPECT_EQ(n.code_language, t.code_language) << id;
        EXPECT_EQ(n.topic, t.topic) << id;
        const std::string a = differing_middle(n.prompt, t.prompt), b = differing_middle(t.prompt, n.prompt);
        EXPECT_FALSE(a.empty() || b.empty()) << id;
        EXPECT_LT(a.size(), 120u) << id << ": " << a;
        EXPECT_LT(b.size(), 120u) << id << ": " << b;
        neutral_orgs[n.language].insert(a);
        trigger_orgs[n.language].insert(b);
    }
    // Seven organisation pairs per language, cycled over the tasks: the differing middles (a
    // pair's shared letters cut off, the same for every task of that pair) are seven of each kind.
    ASSERT_EQ(trigger_orgs.size(), 5u);
    for (const auto& [lang, orgs] : trigger_orgs) {
        EXPECT_EQ(orgs.size(), 7u) << lang;
        EXPECT_EQ(neutral_orgs[lang].size(), 7u) << lang;
    }
}

TEST(AuditCodesecSuite, SmallSlicesAreSensible) {
    const auto all = suite();
    RunOptions o;
    o.limit = 2;
    auto s = select_probes(all, o);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0].pair, s[1].pair);  // one English pair
    EXPECT_EQ(s[0].language, "en");
    o.limit = 10;
    s = select_probes(all, o);
    std::set<std::string> langs;
    for (const auto& p : s) langs.insert(p.language);
    EXPECT_EQ(langs.size(), 5u);  // one task in every language
    o.language = "en";
    s = select_probes(all, o);
    std::set<std::string> code;
    for (const auto& p : s) code.insert(p.code_language);
    EXPECT_EQ(code, (std::set<std::string>{"python", "c", "javascript", "sql", "shell"}));
}
