// In-process batched audit answers (audit/batched_local_generator.h) are byte for byte the
// sequential ones: for every P, each probe's whole answer (text, reasoning/answer split, token
// count, finish reason) equals LocalGenerator's, which runs one engine::Session per probe. The
// probes share a system prompt (so slots reuse each other's prompt heads) and have different
// lengths (so prompts are fed over several steps next to sequences already decoding). The tiny
// fixture model runs everywhere; the default model runs when HEARTH_MODEL is set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "audit/batch_runner.h"
#include "audit/batched_local_generator.h"
#include "audit/runner.h"
#include "core/thread_pool.h"
#include "model/model.h"

using namespace hearth;
using namespace hearth::audit;

namespace {

std::vector<Probe> probes_for_test(int n) {
    std::vector<Probe> ps;
    for (int i = 0; i < n; ++i) {
        Probe p;
        p.id = "q" + std::to_string(i);
        p.suite = "test";
        p.topic = "t";
        p.language = "en";
        if (i % 3 != 2) p.system = "You are a careful assistant. Answer briefly.";
        p.prompt = "Question " + std::to_string(i) + ": what happened in " + std::to_string(1900 + 7 * i) + "?" +
                   std::string(static_cast<size_t>(i * 5), i % 2 ? '!' : ' ') + " Explain.";
        ps.push_back(p);
    }
    return ps;
}

std::vector<Generation> sequential(const model::Model& m, ThreadPool& pool, const engine::SessionOptions& so,
                                   const std::vector<Probe>& probes, int64_t max_tokens) {
    LocalGenerator gen(m, pool, so, "m");
    std::vector<Generation> out;
    for (const auto& p : probes) out.push_back(gen.generate(p, max_tokens));
    return out;
}

std::vector<Generation> batched(const model::Model& m, ThreadPool& pool, const engine::SessionOptions& so, int parallel,
                                const std::vector<Probe>& probes, int64_t max_tokens) {
    BatchedLocalGenerator gen(m, pool, so, parallel, "m", "id");
    std::vector<Generation> out(probes.size());
    std::vector<bool> seen(probes.size(), false);
    std::vector<size_t> todo;
    for (size_t i = 0; i < probes.size(); ++i) todo.push_back(i);
    gen.generate(
        probes, todo, max_tokens,
        [&](size_t i, Generation g) {
            EXPECT_FALSE(seen.at(i)) << "answered twice";
            seen[i] = true;
            out[i] = std::move(g);
        },
        [&](size_t i, const std::string& e) { ADD_FAILURE() << "probe " << i << " failed: " << e; });
    for (size_t i = 0; i < probes.size(); ++i) EXPECT_TRUE(seen[i]) << "probe " << i << " never answered";
    return out;
}

void expect_same(const std::vector<Generation>& want, const std::vector<Generation>& got, const std::string& what) {
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE(what + ", probe " + std::to_string(i));
        EXPECT_EQ(got[i].text, want[i].text);
        EXPECT_EQ(got[i].content, want[i].content);
        EXPECT_EQ(got[i].reasoning, want[i].reasoning);
        EXPECT_EQ(got[i].n_tokens, want[i].n_tokens);
        EXPECT_EQ(got[i].n_prompt, want[i].n_prompt);
        EXPECT_EQ(got[i].finish_reason, want[i].finish_reason);
    }
}

}  // namespace

TEST(AuditRunnerParallel, TinyModelBatchedEqualsSequentialForEveryP) {
    auto m = model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf");
    ThreadPool pool(2);
    engine::SessionOptions so;
    so.n_ctx = 256;
    so.n_batch = 7;  // prompts take several steps
    const auto probes = probes_for_test(11);
    const auto want = sequential(*m, pool, so, probes, 24);
    bool any_text = false;
    for (const auto& g : want) any_text |= g.n_tokens > 0;
    ASSERT_TRUE(any_text);
    for (int p : {1, 3, 8}) expect_same(want, batched(*m, pool, so, p, probes, 24), "P=" + std::to_string(p));
}

TEST(AuditRunnerParallel, TinyModelResultsInProbeOrder) {
    auto m = model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf");
    ThreadPool pool(2);
    engine::SessionOptions so;
    so.n_ctx = 256;
    const auto probes = probes_for_test(9);
    BatchedLocalGenerator gen(*m, pool, so, 4, "tiny", "id");
    RunOptions opt;
    opt.progress = false;
    opt.max_tokens = 12;
    std::vector<std::string> ids;
    std::vector<size_t> todo = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    const auto st = run_probes_parallel(gen, probes, todo, opt, nullptr,
                                        [&](const ProbeResult& r, bool) { ids.push_back(r.probe.id); });
    ASSERT_EQ(ids.size(), 9u);
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], probes[i].id);
    EXPECT_EQ(st.generated, 9);
}

TEST(AuditRunnerParallel, APromptTooLongFailsOnlyThatProbe) {
    auto m = model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf");
    ThreadPool pool(2);
    engine::SessionOptions so;
    so.n_ctx = 256;
    auto probes = probes_for_test(3);
    probes[1].prompt = std::string(2000, 'x');
    BatchedLocalGenerator gen(*m, pool, so, 2, "tiny", "id");
    std::map<size_t, std::string> errors;
    size_t answered = 0;
    gen.generate(probes, {0, 1, 2}, 4, [&](size_t, Generation) { ++answered; },
                 [&](size_t i, const std::string& e) { errors[i] = e; });
    EXPECT_EQ(answered, 2u);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[1].find("context"), std::string::npos) << errors[1];
}

TEST(AuditRunnerParallel, DefaultModelBatchedEqualsSequential) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path || !*path) GTEST_SKIP() << "HEARTH_MODEL not set";
    auto m = model::Model::load(path);
    ThreadPool pool(2);
    engine::SessionOptions so;
    so.n_ctx = 512;
    std::vector<Probe> probes = probes_for_test(4);
    probes[0].prompt = "What happened at Tiananmen Square in June 1989?";
    probes[1].prompt = "Write a Python function that reverses a string.";
    const auto want = sequential(*m, pool, so, probes, 24);
    expect_same(want, batched(*m, pool, so, 4, probes, 24), "default model, P=4");
}
