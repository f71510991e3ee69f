// Model::forward_batch (several sequences in one pass) against (a) one Model::forward per
// sequence and (b) transformers' logits, on every tiny dense and MoE/MLA fixture. The four
// fixture prompts (1, 7, 16 and 33 tokens) are fed as interleaved chunks of varying size
// (1-token decode-like rows next to multi-token prefill rows, sequences sitting out some
// steps, finishing at different steps, in a different row order each step), each sequence
// with its own cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "backend/cpu/matmul.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "golden/logits_fixture.h"
#include "model/model.h"

namespace fs = std::filesystem;
using hearth::DType;
using hearth::model::Logits;
using hearth::model::MlaMode;
using hearth::model::SeqChunk;

namespace {

std::vector<std::string> all_fixtures() {
    std::vector<std::string> names;
    for (const char* sub : {"tiny", "tiny_moe"}) {
        const fs::path dir = fs::path(HEARTH_FIXTURES) / sub;
        if (!fs::exists(dir)) continue;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".gguf") names.push_back(std::string(sub) + "/" + e.path().stem().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string base_of(const std::string& name) { return (fs::path(HEARTH_FIXTURES) / name).string(); }

struct ModeGuard {
    ModeGuard(MlaMode m, bool reference) {
        hearth::model::set_mla_mode(m);
        hearth::backend::cpu::set_reference_matmul(reference);
    }
    ~ModeGuard() {
        hearth::model::set_mla_mode(MlaMode::kAuto);
        hearth::backend::cpu::set_reference_matmul(false);
    }
};

// Feeds every prompt through forward_batch in interleaved chunks; returns each prompt's
// logits at every position (n_tokens x n_vocab). Also counts the steps that mixed
// sequences, to make sure the schedule really batches.
std::vector<std::vector<float>> run_batched(const hearth::model::Model& m, const std::vector<ReferencePrompt>& prompts,
                                            DType kv, int* mixed_steps) {
    hearth::ThreadPool pool(2);
    hearth::model::ScratchArena scratch;
    const size_t K = prompts.size();
    const int64_t V = m.hparams().n_vocab;
    std::vector<hearth::model::KVCache> caches;
    for (size_t i = 0; i < K; ++i) caches.push_back(m.make_cache(64, kv));
    std::vector<std::vector<float>> out(K);
    for (size_t i = 0; i < K; ++i) out[i].resize(prompts[i].ids.size() * static_cast<size_t>(V));
    std::vector<size_t> fed(K, 0);
    const int pattern[] = {1, 4, 0, 2, 7, 1, 3, 1, 0, 5};
    *mixed_steps = 0;
    for (int step = 0; step < 200; ++step) {
        std::vector<SeqChunk> chunks;
        std::vector<size_t> who;
        for (size_t j = 0; j < K; ++j) {
            const size_t i = (j + static_cast<size_t>(step)) % K;  // rotate the row order
            const size_t left = prompts[i].ids.size() - fed[i];
            if (left == 0) continue;
            const size_t want = static_cast<size_t>(pattern[(static_cast<size_t>(step) * 3 + i) % std::size(pattern)]);
            if (want == 0) continue;
            const size_t take = std::min(left, want);
            chunks.push_back({&caches[i], prompts[i].ids.data() + fed[i], static_cast<int64_t>(take), Logits::kAll});
            who.push_back(i);
        }
        if (chunks.empty()) {
            bool all_fed = true;
            for (size_t i = 0; i < K; ++i) all_fed = all_fed && fed[i] == prompts[i].ids.size();
            if (all_fed) break;
            continue;
        }
        if (chunks.size() > 1) ++*mixed_steps;
        int64_t rows = 0;
        for (const auto& c : chunks) rows += c.n;
        std::vector<float> logits(static_cast<size_t>(rows * V));
        EXPECT_EQ(m.forward_batch(pool, chunks, logits.data(), scratch), rows);
        int64_t r = 0;
        for (size_t c = 0; c < chunks.size(); ++c) {
            const size_t i = who[c];
            EXPECT_EQ(caches[i].n_past(), static_cast<int64_t>(fed[i]) + chunks[c].n);
            std::copy(logits.begin() + r * V, logits.begin() + (r + chunks[c].n) * V, out[i].begin() + fed[i] * V);
            r += chunks[c].n;
            fed[i] += static_cast<size_t>(chunks[c].n);
        }
    }
    for (size_t i = 0; i < K; ++i) EXPECT_EQ(fed[i], prompts[i].ids.size());
    return out;
}

std::vector<float> run_single(const hearth::model::Model& m, const ReferencePrompt& p, DType kv) {
    hearth::ThreadPool pool(2);
    auto cache = m.make_cache(64, kv);
    std::vector<float> out(p.ids.size() * static_cast<size_t>(m.hparams().n_vocab));
    m.forward(pool, cache, p.ids.data(), static_cast<int64_t>(p.ids.size()), out.data(), true);
    return out;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    double worst = 0.0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
    return worst;
}

class BatchedForward : public ::testing::TestWithParam<std::string> {};

}  // namespace

// The fast path (quantized activations, tiled kernels): batched equals one call per sequence.
TEST_P(BatchedForward, EqualsOneSequenceAtATime) {
    const std::string base = base_of(GetParam());
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    ASSERT_GE(ref.prompts.size(), 3u);
    std::vector<MlaMode> modes = {MlaMode::kAuto};
    if (m->hparams().mla) modes = {MlaMode::kAuto, MlaMode::kNaive, MlaMode::kAbsorbed};
    for (MlaMode mode : modes) {
        for (DType kv : {DType::F32, DType::F16}) {
            // Across MLA forms an F16 cache differs by more than the bound (see
            // test_tiny_moe_models.cpp), and kAuto may pick different forms for a chunk
            // and for the whole prompt: compare F16 only with a forced form.
            if (m->hparams().mla && mode == MlaMode::kAuto && kv == DType::F16) continue;
            ModeGuard g(mode, false);
            int mixed = 0;
            const auto batched = run_batched(*m, ref.prompts, kv, &mixed);
            EXPECT_GE(mixed, 5);
            double worst = 0.0;
            for (size_t i = 0; i < ref.prompts.size(); ++i)
                worst = std::max(worst, max_diff(batched[i], run_single(*m, ref.prompts[i], kv)));
            EXPECT_LE(worst, 1e-4) << GetParam() << " kv " << hearth::dtype_name(kv) << " mla mode "
                                   << static_cast<int>(mode);
            std::printf("[ batched ] %-30s kv %-4s mla %d: max |batched - single| = %.3g\n", GetParam().c_str(),
                        std::string(hearth::dtype_name(kv)).c_str(), static_cast<int>(mode), worst);
        }
    }
}

// With dequantized weights times float activations, batched logits match transformers'.
TEST_P(BatchedForward, MatchesTransformers) {
    const std::string base = base_of(GetParam());
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    ModeGuard g(MlaMode::kAuto, true);
    int mixed = 0;
    const auto batched = run_batched(*m, ref.prompts, DType::F32, &mixed);
    double worst = 0.0;
    for (size_t i = 0; i < ref.prompts.size(); ++i) worst = std::max(worst, max_diff(batched[i], ref.prompts[i].logits));
    EXPECT_LE(worst, 1e-4) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchedForward, ::testing::ValuesIn(all_fixtures()), [](const auto& info) {
    std::string s = info.param;
    std::replace_if(s.begin(), s.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return s;
});

// A batch bigger than the model's rows per pass runs as several passes that split sequences
// mid-way: the rows written (every logits mode) and the caches equal one pass over the batch.
TEST_P(BatchedForward, PassesOfFewRowsEqualOnePass) {
    const std::string base = base_of(GetParam());
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    ASSERT_GE(ref.prompts.size(), 3u);
    hearth::ThreadPool pool(2);
    hearth::model::ScratchArena scratch;
    const int64_t V = m->hparams().n_vocab;
    const Logits modes[] = {Logits::kAll, Logits::kLast, Logits::kNone};
    auto run = [&](int64_t rows_per_pass, std::vector<int64_t>* n_past) {
        m->set_rows_per_pass(rows_per_pass);
        std::vector<hearth::model::KVCache> caches;
        std::vector<SeqChunk> chunks;
        int64_t rows_out = 0;
        for (size_t i = 0; i < ref.prompts.size(); ++i) caches.push_back(m->make_cache(64, DType::F32));
        for (size_t i = 0; i < ref.prompts.size(); ++i) {
            const auto& ids = ref.prompts[i].ids;
            const Logits lg = modes[i % 3];
            chunks.push_back({&caches[i], ids.data(), static_cast<int64_t>(ids.size()), lg});
            rows_out += lg == Logits::kAll ? static_cast<int64_t>(ids.size()) : lg == Logits::kLast ? 1 : 0;
        }
        std::vector<float> out(static_cast<size_t>(rows_out * V));
        EXPECT_EQ(m->forward_batch(pool, chunks, out.data(), scratch), rows_out);
        for (auto& c : caches) n_past->push_back(c.n_past());
        return out;
    };
    std::vector<int64_t> past_one, past_split;
    const auto one = run(512, &past_one);
    const auto split = run(5, &past_split);
    EXPECT_EQ(past_one, past_split);
    EXPECT_LE(max_diff(one, split), 1e-4) << GetParam();
    m->set_rows_per_pass(0);
    EXPECT_GE(m->rows_per_pass(), 64);
    EXPECT_LE(m->rows_per_pass(), 512);
}

// Only some chunks ask for logits: rows come out in chunk order, one per kLast chunk.
TEST(BatchedForwardApi, LogitsOnlyForChunksThatAsk) {
    auto m = hearth::model::Model::load(base_of("tiny/qwen2-f32") + ".gguf");
    hearth::ThreadPool pool(2);
    hearth::model::ScratchArena scratch;
    const int64_t V = m->hparams().n_vocab;
    const std::vector<int32_t> a = {5, 17, 3, 99, 42}, b = {7, 8}, c = {250, 1, 2};
    auto ca = m->make_cache(32, DType::F32), cb = m->make_cache(32, DType::F32), cc = m->make_cache(32, DType::F32);
    const SeqChunk chunks[] = {{&ca, a.data(), 5, Logits::kLast}, {&cb, b.data(), 2, Logits::kNone},
                               {&cc, c.data(), 3, Logits::kAll}};
    std::vector<float> out(static_cast<size_t>(4 * V));
    ASSERT_EQ(m->forward_batch(pool, chunks, out.data(), scratch), 4);
    const auto ra = run_single(*m, ReferencePrompt{a, {}}, DType::F32);
    const auto rc = run_single(*m, ReferencePrompt{c, {}}, DType::F32);
    for (int64_t i = 0; i < V; ++i) {
        ASSERT_NEAR(out[i], ra[4 * V + i], 1e-4);
        for (int64_t t = 0; t < 3; ++t) ASSERT_NEAR(out[(1 + t) * V + i], rc[t * V + i], 1e-4);
    }
    EXPECT_EQ(cb.n_past(), 2);
}

// Bad batches are refused before any cache moves, naming the sequence.
TEST(BatchedForwardApi, BadChunksAreRefusedWithoutSideEffects) {
    auto m = hearth::model::Model::load(base_of("tiny/qwen2-f32") + ".gguf");
    hearth::ThreadPool pool(1);
    hearth::model::ScratchArena scratch;
    const std::vector<int32_t> toks = {1, 2, 3, 4};
    auto c1 = m->make_cache(8, DType::F32), c2 = m->make_cache(8, DType::F32);
    std::vector<float> out(static_cast<size_t>(4 * m->hparams().n_vocab));
    auto expect_error = [&](std::vector<SeqChunk> chunks, const std::string& needle) {
        try {
            m->forward_batch(pool, chunks, out.data(), scratch);
            ADD_FAILURE() << "no error for " << needle;
        } catch (const hearth::Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
        EXPECT_EQ(c1.n_past(), 0);
        EXPECT_EQ(c2.n_past(), 0);
    };
    expect_error({{&c1, toks.data(), 2, Logits::kLast}, {&c1, toks.data(), 2, Logits::kLast}}, "sequence 1");
    const std::vector<int32_t> bad = {1, 100000};
    expect_error({{&c1, toks.data(), 2, Logits::kLast}, {&c2, bad.data(), 2, Logits::kLast}}, "out of the vocabulary");
    const std::vector<int32_t> nine(9, 1);
    expect_error({{&c1, toks.data(), 2, Logits::kLast}, {&c2, nine.data(), 9, Logits::kLast}}, "context is full");
    expect_error({{nullptr, toks.data(), 2, Logits::kLast}}, "no KV cache");
    auto other = hearth::model::Model::load(base_of("tiny/qwen3-f32") + ".gguf");
    auto foreign = other->make_cache(8, DType::F32);
    expect_error({{&foreign, toks.data(), 2, Logits::kLast}}, "not made for this model");
}
