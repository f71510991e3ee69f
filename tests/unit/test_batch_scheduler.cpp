// engine::BatchScheduler: several requests generated together give exactly what each gives
// alone through engine::Session (greedy and seeded sampling, stop strings, different
// max_tokens, prompts split over steps while others decode); prefix reuse gives the same
// output as no reuse; cancellation and deadlines end a sequence and free its slot; bad
// requests are answered with an error. The tiny fixture model runs everywhere; the same
// equivalence on the default model runs when HEARTH_MODEL is set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/batch_scheduler.h"
#include "engine/session.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

using namespace hearth;
using engine::BatchScheduler;
using engine::GenerateOptions;
using engine::GenerateResult;
using engine::SchedulerOptions;
using engine::SequenceRequest;

namespace {

std::unique_ptr<model::Model> tiny() { return model::Model::load(HEARTH_FIXTURES "/tiny/qwen2-f32.gguf"); }

struct Outcome {
    bool done = false;
    GenerateResult result;
    std::string streamed;
    std::string error;
};

// A request whose callbacks record into `o`.
std::shared_ptr<SequenceRequest> request(std::vector<int32_t> prompt, const GenerateOptions& gen, Outcome& o) {
    auto r = std::make_shared<SequenceRequest>();
    r->prompt = std::move(prompt);
    r->gen = gen;
    r->on_text = [&o](const std::string& s) {
        o.streamed += s;
        return true;
    };
    r->on_done = [&o](GenerateResult res) {
        EXPECT_FALSE(o.done) << "answered twice";
        o.done = true;
        o.result = std::move(res);
    };
    r->on_error = [&o](const std::string& e) {
        EXPECT_FALSE(o.done) << "answered twice";
        o.done = true;
        o.error = e;
    };
    return r;
}

GenerateResult alone(const model::Model& m, ThreadPool& pool, const SchedulerOptions& so,
                     const std::vector<int32_t>& prompt, const GenerateOptions& gen) {
    engine::SessionOptions o;
    o.n_ctx = so.n_ctx;
    o.n_batch = so.n_batch;
    o.kv_type = so.kv_type;
    engine::Session s(m, pool, o);
    return s.generate(prompt, gen);
}

std::vector<int32_t> ids(const model::Model& m, const std::string& text) { return m.tokenizer().encode(text, false, false); }

GenerateOptions greedy(int64_t max_tokens) {
    GenerateOptions g;
    g.max_tokens = max_tokens;
    g.sampling.temperature = 0;
    g.ignore_eos = true;
    return g;
}

// Runs all requests through one scheduler (admitting as slots free up) and checks each
// against the same request alone.
void expect_same_as_alone(const model::Model& m, ThreadPool& pool, const SchedulerOptions& so,
                          const std::vector<std::vector<int32_t>>& prompts, const std::vector<GenerateOptions>& gens,
                          engine::SchedulerStats* stats_out = nullptr) {
    BatchScheduler sched(m, pool, so);
    std::vector<Outcome> out(prompts.size());
    size_t next = 0;
    while (next < prompts.size() || !sched.idle()) {
        while (next < prompts.size() && sched.has_free_slot()) {
            sched.add(request(prompts[next], gens[next], out[next]));
            ++next;
        }
        sched.step();
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
        ASSERT_TRUE(out[i].done) << i;
        ASSERT_EQ(out[i].error, "") << i;
        const GenerateResult want = alone(m, pool, so, prompts[i], gens[i]);
        EXPECT_EQ(out[i].result.tokens, want.tokens) << "request " << i;
        EXPECT_EQ(out[i].result.text, want.text) << "request " << i;
        EXPECT_EQ(out[i].result.finish_reason, want.finish_reason) << "request " << i;
        EXPECT_EQ(out[i].result.n_prompt, want.n_prompt);
        EXPECT_EQ(out[i].streamed, out[i].result.text) << "request " << i;
    }
    if (stats_out) *stats_out = sched.stats();
}

}  // namespace

TEST(BatchScheduler, GreedyConcurrentEqualsAlone) {
    auto m = tiny();
    ThreadPool pool(2);
    SchedulerOptions so;
    so.max_sequences = 4;
    so.n_ctx = 128;
    so.n_batch = 5;  // prompts take several steps, next to sequences already decoding
    so.kv_type = DType::F32;
    const std::vector<std::vector<int32_t>> prompts = {
        ids(*m, "hello there, how are you?"), ids(*m, "x"), ids(*m, "The quick brown fox"), ids(*m, "0123456789abcdef")};
    std::vector<GenerateOptions> gens = {greedy(12), greedy(20), greedy(7), greedy(16)};
    engine::SchedulerStats st;
    expect_same_as_alone(*m, pool, so, prompts, gens, &st);
    EXPECT_EQ(st.max_batch_seqs, 4);
    EXPECT_GT(st.mixed_steps, 0);
    EXPECT_EQ(st.decode_tokens + 4, 12 + 20 + 7 + 16);  // the last token of each is never fed
}

TEST(BatchScheduler, MoreRequestsThanSlotsAndF16Cache) {
    auto m = tiny();
    ThreadPool pool(2);
    SchedulerOptions so;
    so.max_sequences = 3;
    so.n_ctx = 96;
    so.n_batch = 16;
    so.kv_type = DType::F16;
    std::vector<std::vector<int32_t>> prompts;
    std::vector<GenerateOptions> gens;
    for (int i = 0; i < 7; ++i) {
        prompts.push_back(ids(*m, "request number " + std::to_string(i) + std::string(static_cast<size_t>(i * 3), '!')));
        gens.push_back(greedy(5 + 3 * i));
    }
    expect_same_as_alone(*m, pool, so, prompts, gens);
}

// Each sequence keeps its own seeded sampler and penalties.
TEST(BatchScheduler, SampledConcurrentEqualsAlone) {
    auto m = tiny();
    ThreadPool pool(2);
    SchedulerOptions so;
    so.max_sequences = 3;
    so.n_ctx = 128;
    so.n_batch = 8;
    so.kv_type = DType::F32;
    std::vector<std::vector<int32_t>> prompts = {ids(*m, "abc"), ids(*m, "abc"), ids(*m, "some other prompt")};
    std::vector<GenerateOptions> gens(3, greedy(24));
    for (int i = 0; i < 3; ++i) {
        gens[static_cast<size_t>(i)].sampling.temperature = 0.9f;
        gens[static_cast<size_t>(i)].sampling.seed = 1000 + static_cast<uint64_t>(i);
        gens[static_cast<size_t>(i)].sampling.repeat_penalty = 1.2f;
    }
    expect_same_as_alone(*m, pool, so, prompts, gens);
}

TEST(BatchScheduler, StopStringsAndEosAsAlone) {
    auto m = tiny();
    ThreadPool pool(2);
    SchedulerOptions so;
    so.max_sequences = 4;
    so.n_ctx = 128;
    so.n_batch = 6;
    so.kv_type = DType::F32;
    const auto p0 = ids(*m, "stop strings here");
    // A stop string taken from the middle of what the prompt generates alone, so it fires.
    const GenerateResult free_run = alone(*m, pool, so, p0, greedy(30));
    ASSERT_GT(free_run.text.size(), 12u);
    GenerateOptions with_stop = greedy(30);
    with_stop.stop = {free_run.text.substr(8, 3), "never appears \x01\x02"};
    GenerateOptions eos = greedy(30);
    eos.ignore_eos = false;
    std::vector<std::vector<int32_t>> prompts = {p0, ids(*m, "second"), ids(*m, "third one")};
    std::vector<GenerateOptions> gens = {with_stop, eos, greedy(9)};
    expect_same_as_alone(*m, pool, so, prompts, gens);
    const GenerateResult stopped = alone(*m, pool, so, p0, with_stop);
    EXPECT_EQ(stopped.finish_reason, "stop");
    EXPECT_LT(stopped.text.size(), free_run.text.size());
}

TEST(BatchScheduler, PrefixReuseGivesTheSameOutput) {
    auto m = tiny();
    ThreadPool pool(2);
    SchedulerOptions so;
    so.max_sequences = 2;
    so.n_ctx = 128;
    so.n_batch = 64;
    so.kv_type = DType::F32;
    const std::string head = "A shared system prompt that several requests begin with. ";
    const auto first = ids(*m, head + "First question?");
    const auto second = ids(*m, head + "Second, different question?");
    size_t common = 0;
    while (common < first.size() && first[common] == second[common]) ++common;
    ASSERT_GT(common, 20u);

    auto run = [&](bool reuse, engine::SchedulerStats* st) {
        SchedulerOptions o = so;
        o.prefix_reuse = reuse;
        BatchScheduler sched(*m, pool, o);
        std::vector<Outcome> out(3);
        // One after another, so that each finds the previous one's cache in a free slot.
        const std::vector<std::vector<int32_t>> prompts = {first, second, first};
        for (size_t i = 0; i < prompts.size(); ++i) {
            sched.add(request(prompts[i], greedy(10), out[i]));
            sched.run_until_idle();
            EXPECT_TRUE(out[i].done);
        }
        *st = sched.stats();
        return out;
    };
    engine::SchedulerStats with, without;
    const auto a = run(true, &with);
    const auto b = run(false, &without);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(a[i].result.tokens, b[i].result.tokens) << i;
        EXPECT_EQ(a[i].result.tokens, alone(*m, pool, so, i == 1 ? second : first, greedy(10)).tokens) << i;
    }
    EXPECT_EQ(without.reused_tokens, 0);
    // The second request reuses the shared head from the first one's slot; the third finds
    // that slot now holding the second (the longest common head is still `common`).
    EXPECT_EQ(with.reused_tokens, static_cast<int64_t>(2 * common));
    EXPECT_EQ(with.prompt_tokens + with.reused_tokens, without.prompt_tokens);
}

TEST(BatchScheduler, CancellationEndsTheSequenceAndFreesItsSlot) {
    auto m = tiny();
    ThreadPool pool(1);
    SchedulerOptions so;
    so.max_sequences = 1;
    so.n_ctx = 128;
    so.kv_type = DType::F32;
    BatchScheduler sched(*m, pool, so);

    // Non-streaming style: the channel's cancelled flag, polled before each step.
    Outcome a;
    bool client_gone = false;
    auto ra = request(ids(*m, "cancel me"), greedy(100), a);
    ra->on_text = [&](const std::string& s) {
        a.streamed += s;
        if (a.streamed.size() >= 3) client_gone = true;
        return true;
    };
    ra->cancelled = [&] { return client_gone; };
    sched.add(ra);
    EXPECT_FALSE(sched.has_free_slot());
    EXPECT_THROW(sched.add(request(ids(*m, "no room"), greedy(3), a)), Error);
    for (int i = 0; i < 200 && !a.done; ++i) sched.step();
    ASSERT_TRUE(a.done);
    EXPECT_EQ(a.result.finish_reason, "cancelled");
    EXPECT_LT(a.result.tokens.size(), 10u);
    EXPECT_TRUE(sched.idle());
    EXPECT_TRUE(sched.has_free_slot());

    // Streaming style: on_text refuses the text (the connection is gone).
    Outcome b;
    auto rb = request(ids(*m, "cancel me too"), greedy(100), b);
    int pieces = 0;
    rb->on_text = [&](const std::string&) { return ++pieces < 2; };
    sched.add(rb);
    sched.run_until_idle();
    ASSERT_TRUE(b.done);
    EXPECT_EQ(b.result.finish_reason, "cancelled");
    EXPECT_LT(b.result.tokens.size(), 10u);

    // The freed slot serves the next request normally.
    Outcome c;
    const auto pc = ids(*m, "after the cancellations");
    sched.add(request(pc, greedy(8), c));
    sched.run_until_idle();
    ASSERT_TRUE(c.done);
    EXPECT_EQ(c.result.tokens, alone(*m, pool, so, pc, greedy(8)).tokens);
}

TEST(BatchScheduler, DeadlineStopsWithTheTextSoFar) {
    auto m = tiny();
    ThreadPool pool(1);
    SchedulerOptions so;
    so.max_sequences = 2;
    so.n_ctx = 128;
    so.kv_type = DType::F32;
    BatchScheduler sched(*m, pool, so);
    Outcome late, mid, fine;
    auto r1 = request(ids(*m, "already late"), greedy(50), late);
    r1->deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
    auto r2 = request(ids(*m, "runs out of time"), greedy(50), mid);
    SequenceRequest* r2p = r2.get();
    int produced = 0;
    r2->on_text = [&](const std::string& s) {
        mid.streamed += s;
        if (++produced == 5) r2p->deadline = std::chrono::steady_clock::now();  // time is up from now on
        return true;
    };
    sched.add(r1);
    sched.add(r2);
    sched.run_until_idle();
    ASSERT_TRUE(late.done && mid.done);
    EXPECT_EQ(late.result.finish_reason, "deadline");
    EXPECT_TRUE(late.result.tokens.empty());
    EXPECT_EQ(mid.result.finish_reason, "deadline");
    EXPECT_GE(mid.result.tokens.size(), 5u);
    EXPECT_LT(mid.result.tokens.size(), 8u);
    EXPECT_EQ(mid.streamed, mid.result.text);
    sched.add(request(ids(*m, "in time"), greedy(4), fine));
    sched.run_until_idle();
    EXPECT_EQ(fine.result.finish_reason, "length");
}

TEST(BatchScheduler, BadRequestsAreAnsweredWithAnError) {
    auto m = tiny();
    ThreadPool pool(1);
    SchedulerOptions so;
    so.max_sequences = 2;
    so.n_ctx = 16;
    BatchScheduler sched(*m, pool, so);
    Outcome empty, too_long, bad_id;
    sched.add(request({}, greedy(4), empty));
    sched.add(request(std::vector<int32_t>(17, 5), greedy(4), too_long));
    sched.add(request({1, 2, 99999}, greedy(4), bad_id));
    EXPECT_NE(empty.error.find("empty"), std::string::npos);
    EXPECT_NE(too_long.error.find("17 tokens"), std::string::npos);
    EXPECT_NE(bad_id.error.find("99999"), std::string::npos);
    EXPECT_TRUE(sched.idle());
    EXPECT_THROW(BatchScheduler(*m, pool, SchedulerOptions{0, 16, 8, DType::F16, true}), Error);
}

// The default model (Q4_K_M mix, F16 cache): 4 concurrent greedy requests give exactly the
// tokens each gives alone.
TEST(BatchSchedulerDefaultModel, FourConcurrentGreedyEqualAlone) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path || !*path) GTEST_SKIP() << "HEARTH_MODEL not set";
    auto m = model::Model::load(path);
    ThreadPool pool(2);
    SchedulerOptions so;
    so.max_sequences = 4;
    so.n_ctx = 512;
    so.n_batch = 32;
    so.kv_type = DType::F16;
    const auto chat = [&](const std::string& q) {
        return m->tokenizer().encode("<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n", false, true);
    };
    const std::vector<std::vector<int32_t>> prompts = {
        chat("Write a Python function that reverses a string."), chat("What is a binary search tree?"),
        chat("def fib(n):"), chat("Explain the difference between a list and a tuple in Python, with examples.")};
    std::vector<GenerateOptions> gens(4, greedy(24));
    for (auto& g : gens) g.ignore_eos = false;
    engine::SchedulerStats st;
    expect_same_as_alone(*m, pool, so, prompts, gens, &st);
    EXPECT_EQ(st.max_batch_seqs, 4);
}
