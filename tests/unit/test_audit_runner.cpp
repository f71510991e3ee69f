// The audit runner's bookkeeping, with a scripted generator instead of a model: results leave
// in probe order whatever order answers finish in; a failed probe is reported and the others go
// on; the response cache answers a rerun (and only the very same request); the results file
// resumes after a crash cut its last record, refuses another configuration's results, and
// starts afresh with force; the progress bar's ETA.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "audit/batch_runner.h"
#include "audit/jsonl_append.h"
#include "audit/response_cache.h"
#include "audit/result_log.h"
#include "core/error.h"
#include "core/progress.h"

using namespace hearth;
using namespace hearth::audit;

namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("hearth_runner_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<Probe> make_probes(int n) {
    std::vector<Probe> ps;
    for (int i = 0; i < n; ++i) {
        Probe p;
        p.id = "p" + std::to_string(i);
        p.suite = "test";
        p.topic = "t" + std::to_string(i % 3);
        p.language = "en";
        p.prompt = "question " + std::to_string(i);
        ps.push_back(p);
    }
    return ps;
}

// Answers "answer to <prompt>", finishing each batch of `parallel` in reverse order; prompts
// listed in `fail` fail. Counts what it was asked.
class ScriptedGenerator : public ParallelGenerator {
public:
    explicit ScriptedGenerator(int parallel, std::set<std::string> fail = {}) : parallel_(parallel), fail_(std::move(fail)) {}
    void generate(const std::vector<Probe>& probes, const std::vector<size_t>& todo, int64_t max_tokens,
                  const OnDone& done, const OnFailed& failed) override {
        for (size_t b = 0; b < todo.size(); b += static_cast<size_t>(parallel_)) {
            const size_t e = std::min(todo.size(), b + static_cast<size_t>(parallel_));
            for (size_t k = e; k-- > b;) {
                const Probe& p = probes.at(todo[k]);
                ++asked;
                if (fail_.count(p.prompt)) {
                    failed(todo[k], "scripted failure");
                    continue;
                }
                Generation g;
                g.text = g.content = "answer to " + p.prompt + " in " + std::to_string(max_tokens);
                g.n_tokens = 5;
                g.finish_reason = "stop";
                done(todo[k], g);
            }
        }
    }
    int parallel() const override { return parallel_; }
    std::string model_name() const override { return "scripted"; }
    std::string identity() const override { return "scripted-model-sha"; }
    std::string request_text(const Probe& p) const override { return "<user>" + p.prompt; }
    std::string sampling() const override { return "greedy"; }
    int asked = 0;

private:
    int parallel_;
    std::set<std::string> fail_;
};

std::vector<size_t> all(size_t n) {
    std::vector<size_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = i;
    return v;
}

RunOptions quiet(int64_t max_tokens = 16) {
    RunOptions o;
    o.progress = false;
    o.max_tokens = max_tokens;
    return o;
}

}  // namespace

TEST(AuditRunner, ResultsLeaveInProbeOrder) {
    const auto probes = make_probes(10);
    ScriptedGenerator gen(4);
    std::vector<std::string> ids, answers;
    const auto st = run_probes_parallel(gen, probes, all(probes.size()), quiet(), nullptr,
                                        [&](const ProbeResult& r, bool cached) {
                                            EXPECT_FALSE(cached);
                                            ids.push_back(r.probe.id);
                                            answers.push_back(r.graded_text);
                                        });
    ASSERT_EQ(ids.size(), 10u);
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(ids[static_cast<size_t>(i)], "p" + std::to_string(i));
        EXPECT_EQ(answers[static_cast<size_t>(i)], "answer to question " + std::to_string(i) + " in 16");
    }
    EXPECT_EQ(st.generated, 10);
    EXPECT_EQ(st.cached, 0);
    EXPECT_TRUE(st.failures.empty());
}

TEST(AuditRunner, AFailedProbeIsReportedAndTheOthersGoOn) {
    const auto probes = make_probes(7);
    ScriptedGenerator gen(3, {"question 2", "question 5"});
    std::vector<std::string> ids;
    const auto st = run_probes_parallel(gen, probes, all(probes.size()), quiet(), nullptr,
                                        [&](const ProbeResult& r, bool) { ids.push_back(r.probe.id); });
    EXPECT_EQ(ids, (std::vector<std::string>{"p0", "p1", "p3", "p4", "p6"}));
    ASSERT_EQ(st.failures.size(), 2u);
    std::set<std::string> failed = {st.failures[0].first, st.failures[1].first};
    EXPECT_EQ(failed, (std::set<std::string>{"p2", "p5"}));
    EXPECT_EQ(st.failures[0].second, "scripted failure");
}

TEST(AuditRunner, OnlyTheProbesAskedForRun) {
    const auto probes = make_probes(6);
    ScriptedGenerator gen(2);
    std::vector<std::string> ids;
    run_probes_parallel(gen, probes, {1, 4, 5}, quiet(), nullptr,
                        [&](const ProbeResult& r, bool) { ids.push_back(r.probe.id); });
    EXPECT_EQ(ids, (std::vector<std::string>{"p1", "p4", "p5"}));
    EXPECT_EQ(gen.asked, 3);
}

TEST(AuditRunner, ResponseCacheAnswersARerun) {
    const fs::path dir = temp_dir("cache");
    const auto probes = make_probes(5);
    std::vector<std::string> first, second;
    {
        ResponseCache cache(dir.string());  // a directory: responses.jsonl inside
        ScriptedGenerator gen(2);
        const auto st = run_probes_parallel(gen, probes, all(5), quiet(), &cache,
                                            [&](const ProbeResult& r, bool c) {
                                                EXPECT_FALSE(c);
                                                first.push_back(r.graded_text);
                                            });
        EXPECT_EQ(st.generated, 5);
        EXPECT_EQ(cache.misses(), 5);
        EXPECT_EQ(cache.hits(), 0);
        EXPECT_EQ(cache.file(), (dir / "responses.jsonl").string());
    }
    {
        ResponseCache cache(dir.string());
        EXPECT_EQ(cache.size(), 5u);
        ScriptedGenerator gen(2);
        const auto st = run_probes_parallel(gen, probes, all(5), quiet(), &cache,
                                            [&](const ProbeResult& r, bool c) {
                                                EXPECT_TRUE(c);
                                                second.push_back(r.graded_text);
                                            });
        EXPECT_EQ(gen.asked, 0);  // nothing reached the model
        EXPECT_EQ(st.cached, 5);
        EXPECT_EQ(cache.hits(), 5);
        EXPECT_EQ(cache.misses(), 0);
    }
    EXPECT_EQ(first, second);
    {
        // Another token limit is another request: no hits, and the answers differ.
        ResponseCache cache(dir.string());
        ScriptedGenerator gen(2);
        run_probes_parallel(gen, probes, all(5), quiet(32), &cache, [&](const ProbeResult&, bool c) { EXPECT_FALSE(c); });
        EXPECT_EQ(gen.asked, 5);
        EXPECT_EQ(cache.hits(), 0);
        EXPECT_EQ(cache.size(), 10u);
    }
    fs::remove_all(dir);
}

TEST(AuditRunner, ResponseCacheKeySeparatesEveryPart) {
    const std::string k = response_cache_key("model", "prompt", "greedy", 16);
    EXPECT_EQ(k.size(), 64u);
    EXPECT_EQ(k, response_cache_key("model", "prompt", "greedy", 16));
    EXPECT_NE(k, response_cache_key("model2", "prompt", "greedy", 16));
    EXPECT_NE(k, response_cache_key("model", "prompt.", "greedy", 16));
    EXPECT_NE(k, response_cache_key("model", "prompt", "temperature 1", 16));
    EXPECT_NE(k, response_cache_key("model", "prompt", "greedy", 17));
    // Moving text from one part to the next changes the key (parts are length-prefixed).
    EXPECT_NE(response_cache_key("ab", "c", "greedy", 1), response_cache_key("a", "bc", "greedy", 1));
}

TEST(AuditRunner, ResponseCacheSurvivesACutLastEntryAndRejectsGarbage) {
    const fs::path dir = temp_dir("cache_cut");
    const fs::path file = dir / "c.jsonl";
    {
        ResponseCache c(file.string());
        Generation g;
        g.text = g.content = "one";
        c.put("k1", g);
        g.text = g.content = "two";
        c.put("k2", g);
    }
    std::string data = read_all(file);
    data.resize(data.size() - 10);  // the second entry cut short, as by a crash mid-write
    std::ofstream(file, std::ios::binary | std::ios::trunc) << data;
    {
        ResponseCache c(file.string());
        EXPECT_EQ(c.size(), 1u);
        ASSERT_NE(c.find("k1"), nullptr);
        EXPECT_EQ(c.find("k1")->content, "one");
        EXPECT_EQ(c.find("k2"), nullptr);
        Generation g;
        g.text = g.content = "three";
        c.put("k3", g);
    }
    {
        ResponseCache c(file.string());  // the new entry starts on a line of its own
        EXPECT_EQ(c.size(), 2u);
        ASSERT_NE(c.find("k3"), nullptr);
        EXPECT_EQ(c.find("k3")->content, "three");
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << "{\"key\":\"a\"}\nnot json\n";
    try {
        ResponseCache c(file.string());
        FAIL() << "a malformed cache was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("c.jsonl"), std::string::npos) << e.what();
    }
    fs::remove_all(dir);
}

TEST(AuditRunner, ResultLogResumesAfterACutLastRecord) {
    const fs::path dir = temp_dir("log");
    const std::string path = (dir / "r.jsonl").string();
    auto rec = [](const std::string& id, const std::string& hash) {
        return nlohmann::ordered_json{{"id", id}, {"verdict", "full_answer"}, {"config_hash", hash}};
    };
    {
        ResultLog log(path, "hashA", false);
        EXPECT_TRUE(log.previous().empty());
        log.append(rec("p0", "hashA"));
        log.append(rec("p1", "hashA"));
        log.append(rec("p2", "hashA"));
    }
    std::string data = read_all(path);
    data.resize(data.size() - 7);  // p2's record cut short
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
    {
        ResultLog log(path, "hashA", false);
        EXPECT_TRUE(log.dropped_partial_tail());
        ASSERT_EQ(log.previous().size(), 2u);
        EXPECT_TRUE(log.done("p0"));
        EXPECT_TRUE(log.done("p1"));
        EXPECT_FALSE(log.done("p2"));
        log.append(rec("p2", "hashA"));
    }
    const auto back = read_jsonl_for_append(path);
    ASSERT_EQ(back.records.size(), 3u);
    EXPECT_EQ(back.records[2]["id"], "p2");
    EXPECT_FALSE(back.dropped_partial_tail);
    fs::remove_all(dir);
}

TEST(AuditRunner, ResultLogRefusesAnotherConfigUnlessForced) {
    const fs::path dir = temp_dir("log_hash");
    const std::string path = (dir / "r.jsonl").string();
    {
        ResultLog log(path, "aaaaaaaaaaaaaaaa", false);
        log.append({{"id", "p0"}, {"verdict", "refusal"}, {"config_hash", "aaaaaaaaaaaaaaaa"}});
    }
    const std::string before = read_all(path);
    try {
        ResultLog log(path, "bbbbbbbbbbbbbbbb", false);
        FAIL() << "results of another config hash were resumed";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("another run configuration"), std::string::npos) << m;
        EXPECT_NE(m.find("aaaaaaaaaaaa"), std::string::npos) << m;
        EXPECT_NE(m.find("--force"), std::string::npos) << m;
    }
    EXPECT_EQ(read_all(path), before);  // the refused file is untouched
    {
        ResultLog log(path, "bbbbbbbbbbbbbbbb", true);
        EXPECT_TRUE(log.previous().empty());
        EXPECT_FALSE(log.done("p0"));
        log.append({{"id", "p0"}, {"verdict", "full_answer"}, {"config_hash", "bbbbbbbbbbbbbbbb"}});
    }
    const auto back = read_jsonl_for_append(path);
    ASSERT_EQ(back.records.size(), 1u);
    EXPECT_EQ(back.records[0]["config_hash"], "bbbbbbbbbbbbbbbb");
    fs::remove_all(dir);
}

TEST(AuditRunner, ProgressEta) {
    EXPECT_EQ(progress_eta(10, 0, 100), "");   // nothing done yet: no rate
    EXPECT_EQ(progress_eta(10, 100, 100), "");  // done
    EXPECT_EQ(progress_eta(10, 25, 100), "0:30");
    EXPECT_EQ(progress_eta(90, 1, 3), "3:00");
    EXPECT_EQ(progress_eta(3600, 1, 3), "2:00:00");
}
