// hearth's logits against Hugging Face transformers' on tiny random-weight MoE / MLA models
// (fixtures from tools/make_tiny_moe_models.py): DeepSeek-V3 (q low-rank, YaRN, sigmoid +
// correction bias, group-limited routing; F32 and Q8_0), DeepSeek-V3 without q low-rank,
// DeepSeek-V2 (softmax, group_limited_greedy), Qwen3-MoE and GLM-4.5 (partial rotary, biases,
// an MTP block in the file that must be ignored). Plus: incremental decode equals batch, MLA's
// absorbed form equals the naive one, and the KV bytes per token of the latent cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "backend/cpu/matmul.h"
#include "backend/cpu/topk.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "golden/logits_fixture.h"
#include "model/model.h"

namespace fs = std::filesystem;

namespace {

std::string dir() { return (fs::path(HEARTH_FIXTURES) / "tiny_moe").string(); }

std::vector<std::string> fixtures() {
    std::vector<std::string> names;
    if (!fs::exists(dir())) return names;
    for (const auto& e : fs::directory_iterator(dir())) {
        std::string n = e.path().filename().string();
        if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") names.push_back(n.substr(0, n.size() - 5));
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct MlaModeGuard {
    explicit MlaModeGuard(hearth::model::MlaMode m) { hearth::model::set_mla_mode(m); }
    ~MlaModeGuard() { hearth::model::set_mla_mode(hearth::model::MlaMode::kAuto); }
};
struct ReferenceMatmulGuard {
    explicit ReferenceMatmulGuard(bool on) { hearth::backend::cpu::set_reference_matmul(on); }
    ~ReferenceMatmulGuard() { hearth::backend::cpu::set_reference_matmul(false); }
};

// Max |hearth - transformers| over every position of every prompt.
double max_diff_vs_reference(const std::string& stem, hearth::DType kv = hearth::DType::F32) {
    const std::string base = dir() + "/" + stem;
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    EXPECT_EQ(m->hparams().n_vocab, static_cast<int64_t>(ref.n_vocab));
    hearth::ThreadPool pool(2);
    double worst = 0.0;
    for (const auto& rp : ref.prompts) {
        const int64_t n = static_cast<int64_t>(rp.ids.size());
        auto cache = m->make_cache(64, kv);
        std::vector<float> logits(static_cast<size_t>(n) * ref.n_vocab);
        m->forward(pool, cache, rp.ids.data(), n, logits.data(), true);
        for (size_t i = 0; i < logits.size(); ++i)
            worst = std::max(worst, std::abs(static_cast<double>(logits[i]) - rp.logits[i]));
    }
    return worst;
}

bool is_quantized(const std::string& stem) { return stem.find("q8_0") != std::string::npos; }

class TinyMoeModel : public ::testing::TestWithParam<std::string> {};

}  // namespace

// F32 files with the normal matmul; quantized files with dequantized weights times float
// activations (the reference was computed on the same dequantized weights), both to 1e-4.
TEST_P(TinyMoeModel, LogitsMatchTransformersAtEveryPosition) {
    ReferenceMatmulGuard g(is_quantized(GetParam()));
    const double worst = max_diff_vs_reference(GetParam());
    EXPECT_LE(worst, 1e-4) << GetParam();
    std::printf("[ tiny_moe ] %-24s max |hearth - transformers| = %.3g\n", GetParam().c_str(), worst);
}

// The Q8_0 fast path (activations quantized to Q8_0, as llama.cpp does) on quantized files.
// That rounding can legitimately flip a near-tied routing decision of these tiny models (and
// then move logits by ~1), so the bound is on the greedy token: it must agree with the
// reference at most positions (43-45/57 measured; a wrong layout or routing agrees at few).
TEST_P(TinyMoeModel, FastPathAgreesOnGreedyTokens) {
    if (!is_quantized(GetParam())) GTEST_SKIP() << "F32 file";
    const std::string base = dir() + "/" + GetParam();
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    hearth::ThreadPool pool(2);
    int agree = 0, total = 0;
    double worst = 0.0;
    for (const auto& rp : ref.prompts) {
        const int64_t n = static_cast<int64_t>(rp.ids.size());
        auto cache = m->make_cache(64, hearth::DType::F32);
        std::vector<float> logits(static_cast<size_t>(n) * ref.n_vocab);
        m->forward(pool, cache, rp.ids.data(), n, logits.data(), true);
        for (int64_t t = 0; t < n; ++t) {
            const float* a = logits.data() + t * ref.n_vocab;
            const float* b = rp.logits.data() + t * ref.n_vocab;
            agree += std::max_element(a, a + ref.n_vocab) - a == std::max_element(b, b + ref.n_vocab) - b;
            ++total;
            for (uint32_t i = 0; i < ref.n_vocab; ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
        }
    }
    EXPECT_GE(agree, total * 2 / 3) << GetParam();
    std::printf("[ tiny_moe ] %-24s fast path: greedy token agrees at %d/%d positions, max |diff| %.3g\n",
                GetParam().c_str(), agree, total, worst);
}

// Decoding one token at a time through the cache must give what the 33-token batch gave, with
// an F32 and an F16 cache. For MLA the F32 run uses the naive form for the batch and the
// absorbed one for decode; the F16 run keeps the absorbed form (it rounds the absorbed query to
// F16 like llama.cpp's F16 path while the naive one attends in F32, so across forms F16 differs
// by more than the bound).
TEST_P(TinyMoeModel, IncrementalDecodeEqualsBatch) {
    ReferenceMatmulGuard g(is_quantized(GetParam()));
    const std::string base = dir() + "/" + GetParam();
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    hearth::ThreadPool pool(2);
    const auto& rp = *std::max_element(ref.prompts.begin(), ref.prompts.end(),
                                       [](const auto& a, const auto& b) { return a.ids.size() < b.ids.size(); });
    const int64_t n = static_cast<int64_t>(rp.ids.size());
    for (hearth::DType kv : {hearth::DType::F32, hearth::DType::F16}) {
        std::vector<float> batch(static_cast<size_t>(n) * ref.n_vocab);
        {
            MlaModeGuard mg(kv == hearth::DType::F16 ? hearth::model::MlaMode::kAbsorbed : hearth::model::MlaMode::kNaive);
            auto batch_cache = m->make_cache(64, kv);
            m->forward(pool, batch_cache, rp.ids.data(), n, batch.data(), true);
        }
        MlaModeGuard mg(hearth::model::MlaMode::kAbsorbed);
        auto cache = m->make_cache(64, kv);
        std::vector<float> one(ref.n_vocab);
        const double tol = 1e-4;
        for (int64_t t = 0; t < n; ++t) {
            m->forward(pool, cache, rp.ids.data() + t, 1, one.data(), false);
            for (uint32_t i = 0; i < ref.n_vocab; ++i)
                ASSERT_NEAR(one[i], batch[static_cast<size_t>(t) * ref.n_vocab + i], tol)
                    << "position " << t << (kv == hearth::DType::F16 ? " (F16 cache)" : "");
        }
    }
}

// MLA: the absorbed form (query folded through W_kb, attention over the latent rows, W_vb after)
// equals the naive one (keys and values decompressed), for a whole prompt and in decode.
TEST_P(TinyMoeModel, MlaAbsorbedEqualsNaive) {
    const std::string base = dir() + "/" + GetParam();
    auto m = hearth::model::Model::load(base + ".gguf");
    if (!m->hparams().mla) GTEST_SKIP() << "not an MLA model";
    ReferenceMatmulGuard g(true);
    auto ref = read_logits_fixture(base + ".logits.bin");
    hearth::ThreadPool pool(2);
    const auto& rp = ref.prompts.back();
    const int64_t n = static_cast<int64_t>(rp.ids.size()), V = ref.n_vocab;
    auto run = [&](hearth::model::MlaMode mode) {
        MlaModeGuard mg(mode);
        auto cache = m->make_cache(64, hearth::DType::F32);
        std::vector<float> out(static_cast<size_t>(n + 2) * V);
        m->forward(pool, cache, rp.ids.data(), n, out.data(), true);  // prefill
        const int32_t more[2] = {rp.ids[0], rp.ids[1]};
        for (int t = 0; t < 2; ++t)  // and decode
            m->forward(pool, cache, more + t, 1, out.data() + (n + t) * V, false);
        return out;
    };
    const auto naive = run(hearth::model::MlaMode::kNaive);
    const auto absorbed = run(hearth::model::MlaMode::kAbsorbed);
    double worst = 0.0;
    for (size_t i = 0; i < naive.size(); ++i) worst = std::max(worst, std::abs(double(naive[i]) - absorbed[i]));
    EXPECT_LE(worst, 1e-4) << GetParam();
    std::printf("[ tiny_moe ] %-24s MLA absorbed vs naive: max diff %.3g\n", GetParam().c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TinyMoeModel, ::testing::ValuesIn(fixtures()), [](const auto& info) {
    std::string s = info.param;
    for (auto& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return s;
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TinyMoeModel);

TEST(TinyMoeModels, FixturesArePresent) {
    EXPECT_GE(fixtures().size(), 6u) << "tests/fixtures/tiny_moe is incomplete; run tools/make_tiny_moe_models.py";
}

// The latent cache holds kv_lora_rank + qk_rope floats per layer and token, nothing per head.
TEST(TinyMoeModels, MlaKvBytesPerToken) {
    auto m = hearth::model::Model::load(dir() + "/deepseek3-f32.gguf");
    const auto& hp = m->hparams();
    ASSERT_TRUE(hp.mla);
    EXPECT_EQ(hp.kv_lora_rank, 32);
    EXPECT_EQ(hp.rope_dims, 16);
    EXPECT_EQ(hp.n_layer, 3);
    for (auto [type, elem] : {std::pair{hearth::DType::F16, 2u}, std::pair{hearth::DType::F32, 4u}}) {
        auto cache = m->make_cache(10, type);
        const size_t want = static_cast<size_t>((32 + 16) * 3) * elem;
        EXPECT_EQ(cache.bytes_per_token(), want);
        EXPECT_EQ(hp.kv_bytes_per_token(elem), want);
        EXPECT_EQ(cache.bytes(), want * 10);
    }
}

TEST(TinyMoeModels, HyperParametersFromGguf) {
    auto ds = hearth::model::Model::load(dir() + "/deepseek3-f32.gguf");
    const auto& d = ds->hparams();
    EXPECT_EQ(d.head_dim_k, 48);  // key_length_mla = qk_nope 32 + qk_rope 16
    EXPECT_EQ(d.head_dim_v, 32);
    EXPECT_EQ(d.q_lora_rank, 32);
    EXPECT_EQ(d.n_expert, 8);
    EXPECT_EQ(d.n_expert_used, 2);
    EXPECT_EQ(d.n_expert_groups, 4);
    EXPECT_EQ(d.n_group_used, 2);
    EXPECT_EQ(d.n_layer_dense_lead, 1);
    EXPECT_TRUE(d.expert_weights_norm);
    EXPECT_FLOAT_EQ(d.expert_weights_scale, 2.5f);
    EXPECT_EQ(d.expert_gating, hearth::model::ExpertGating::kSigmoid);
    EXPECT_EQ(d.rope_scaling, hearth::model::RopeScaling::kYarn);
    EXPECT_NEAR(d.yarn_mscale(), 1.0 + 0.1 * std::log(4.0), 1e-6);

    auto glm = hearth::model::Model::load(dir() + "/glm4moe-f32.gguf");
    EXPECT_EQ(glm->hparams().n_layer_file, 3);  // the file's block_count includes the MTP block
    EXPECT_EQ(glm->hparams().n_layer, 2);
    EXPECT_EQ(glm->hparams().rope_dims, 16);  // partial rotary: half of head_dim 32
    EXPECT_LT(glm->n_active_params(), glm->n_params());

    auto q = hearth::model::Model::load(dir() + "/qwen3moe-f32.gguf");
    EXPECT_TRUE(q->hparams().expert_weights_norm);  // qwen3moe default, as llama.cpp
    EXPECT_EQ(q->hparams().expert_gating, hearth::model::ExpertGating::kSoftmax);
}

// Routing on hand-made logits: group limits, correction bias for the choice only, weights.
TEST(MoeRouting, SigmoidGroupLimitedWithBias) {
    namespace cpu = hearth::backend::cpu;
    // 4 experts in 2 groups; group 0 = {0,1}, group 1 = {2,3}.
    const float logits[4] = {2.0f, 1.5f, 1.0f, 3.0f};
    const float bias[4] = {0.0f, 0.0f, 0.9f, 0.0f};
    cpu::RouterParams p;
    p.score = cpu::RouterScore::kSigmoid;
    p.n_expert = 4;
    p.n_used = 2;
    p.n_groups = 2;
    p.n_groups_used = 1;
    p.normalize = true;
    p.scale = 2.0f;
    p.choice_bias = bias;
    int32_t ids[2];
    float w[2];
    cpu::route_experts(logits, 1, p, ids, w);
    // sigmoid: .881 .818 .731 .953; +bias: .881 .818 1.631 .953 -> group 1 (2.58) beats group 0 (1.70)
    EXPECT_EQ(ids[0], 2);
    EXPECT_EQ(ids[1], 3);
    const double s2 = 1 / (1 + std::exp(-1.0)), s3 = 1 / (1 + std::exp(-3.0));
    EXPECT_NEAR(w[0], 2.0 * s2 / (s2 + s3), 1e-6);  // weights from the unbiased scores
    EXPECT_NEAR(w[1], 2.0 * s3 / (s2 + s3), 1e-6);
}

TEST(MoeRouting, SoftmaxGroupScoredByBestExpert) {
    namespace cpu = hearth::backend::cpu;
    const float logits[4] = {2.0f, 1.9f, 2.1f, -5.0f};
    cpu::RouterParams p;
    p.n_expert = 4;
    p.n_used = 2;
    p.n_groups = 2;
    p.n_groups_used = 1;
    p.scale = 1.5f;
    int32_t ids[2];
    float w[2];
    cpu::route_experts(logits, 1, p, ids, w);
    // Group 1's best (2.1) beats group 0's (2.0) although group 0's sum is larger: V2 uses the max.
    EXPECT_EQ(ids[0], 2);
    EXPECT_EQ(ids[1], 3);
    double z = std::exp(2.0) + std::exp(1.9) + std::exp(2.1) + std::exp(-5.0);
    EXPECT_NEAR(w[0], 1.5 * std::exp(2.1) / z, 1e-6);
}
