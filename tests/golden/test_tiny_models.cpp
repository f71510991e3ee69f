// hearth's logits against Hugging Face transformers' on tiny random-weight models of each
// dense family (fixtures from tools/make_tiny_models.py). For F16 and Q8_0 files the
// reference was computed by transformers on the exact dequantized weights, so all three
// weight types are held to float-arithmetic tolerances, not quantization-error ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/thread_pool.h"
#include "golden/logits_fixture.h"
#include "backend/cpu/matmul.h"
#include "model/model.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> fixtures() {
    std::vector<std::string> names;
    fs::path dir = fs::path(HEARTH_FIXTURES) / "tiny";
    if (!fs::exists(dir)) return names;
    for (const auto& e : fs::directory_iterator(dir)) {
        std::string n = e.path().filename().string();
        if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") names.push_back(n.substr(0, n.size() - 5));
    }
    std::sort(names.begin(), names.end());
    return names;
}

class TinyModel : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(TinyModel, ReferenceMatmulMatchesTransformersTightly) {
    // Dequantized weights times float activations: only float arithmetic order differs
    // from transformers, for every weight type, so the F32 bound applies to all.
    hearth::backend::cpu::set_reference_matmul(true);
    const std::string base = (fs::path(HEARTH_FIXTURES) / "tiny" / GetParam()).string();
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    hearth::ThreadPool pool(2);
    double worst = 0.0;
    for (const auto& rp : ref.prompts) {
        const int64_t n = static_cast<int64_t>(rp.ids.size());
        auto cache = m->make_cache(64, hearth::DType::F32);
        std::vector<float> logits(static_cast<size_t>(n) * ref.n_vocab);
        m->forward(pool, cache, rp.ids.data(), n, logits.data(), true);
        for (size_t i = 0; i < logits.size(); ++i)
            worst = std::max(worst, std::abs(static_cast<double>(logits[i]) - rp.logits[i]));
    }
    hearth::backend::cpu::set_reference_matmul(false);
    EXPECT_LE(worst, 1e-4) << GetParam();
    std::printf("[ tiny ] %-28s reference matmul: max |hearth - transformers| = %.3g\n", GetParam().c_str(), worst);
}

// The fast path: for F32/F16 weights activations stay float, so transformers is the
// reference at 1e-4. For Q8_0 weights activations are rounded to Q8_0 blocks before the
// integer dot products, as llama.cpp does; that rounding moves these high-gain random models'
// logits by up to ~0.4 from transformers (the same amount llama.cpp moves), so there the
// reference is llama.cpp's own logits on the same file (tools/gen_tiny_llamacpp_logits.py).
TEST_P(TinyModel, FastPathMatchesReference) {
    const std::string base = (fs::path(HEARTH_FIXTURES) / "tiny" / GetParam()).string();
    const bool quantized_acts = GetParam().find("q8_0") != std::string::npos;
    auto ref = read_logits_fixture(base + (quantized_acts ? ".llamacpp.logits.bin" : ".logits.bin"));
    auto m = hearth::model::Model::load(base + ".gguf");
    ASSERT_EQ(m->hparams().n_vocab, static_cast<int64_t>(ref.n_vocab));
    hearth::ThreadPool pool(2);
    // Q8_0 files: both engines quantize activations to 8 bits, a step function, so where a
    // weight product summed in another order lands on the other side of a rounding boundary
    // one activation moves a whole step, and these tiny random-weight models move their logits
    // by up to ~0.05. Measured on prompt 2 (16 tokens), the one where this happens: qwen3-q8_0
    // is 0.0512 from llama.cpp through hearth's decode kernels and 9.5e-7 through its prefill
    // kernels, qwen2-q8_0 the other way round (9.5e-7 and 0.0020); every other prompt of the
    // three files is within 1e-6 through both. So: every prompt within 0.1, and all but one
    // within 1e-5.
    const double tol = !quantized_acts ? 1e-4 : 0.1;
    double worst = 0.0;
    int loose = 0;
    for (size_t p = 0; p < ref.prompts.size(); ++p) {
        const auto& rp = ref.prompts[p];
        const int64_t n = static_cast<int64_t>(rp.ids.size());
        auto cache = m->make_cache(64, hearth::DType::F32);
        std::vector<float> logits(static_cast<size_t>(n) * ref.n_vocab);
        m->forward(pool, cache, rp.ids.data(), n, logits.data(), true);
        double max_diff = 0.0;
        for (size_t i = 0; i < logits.size(); ++i)
            max_diff = std::max(max_diff, std::abs(static_cast<double>(logits[i]) - rp.logits[i]));
        worst = std::max(worst, max_diff);
        loose += max_diff > 1e-5;
        EXPECT_LE(max_diff, tol) << GetParam() << " prompt " << p << " (" << n << " tokens)";
    }
    if (quantized_acts) {
        EXPECT_LE(loose, 1) << GetParam() << ": prompts further than 1e-5 from llama.cpp";
    }
    std::printf("[ tiny ] %-28s fast path: max |hearth - %s| = %.3g (tolerance %.0e)\n", GetParam().c_str(),
                quantized_acts ? "llama.cpp" : "transformers", worst, tol);
}

// Decoding one token at a time through the KV cache must give what the batch gave.
TEST_P(TinyModel, IncrementalDecodeEqualsBatch) {
    const std::string base = (fs::path(HEARTH_FIXTURES) / "tiny" / GetParam()).string();
    auto ref = read_logits_fixture(base + ".logits.bin");
    auto m = hearth::model::Model::load(base + ".gguf");
    hearth::ThreadPool pool(2);
    const auto& rp = *std::max_element(ref.prompts.begin(), ref.prompts.end(),
                                       [](const auto& a, const auto& b) { return a.ids.size() < b.ids.size(); });
    const int64_t n = static_cast<int64_t>(rp.ids.size());
    auto batch_cache = m->make_cache(64, hearth::DType::F32);
    std::vector<float> batch(static_cast<size_t>(n) * ref.n_vocab);
    m->forward(pool, batch_cache, rp.ids.data(), n, batch.data(), true);
    auto cache = m->make_cache(64, hearth::DType::F32);
    std::vector<float> one(ref.n_vocab);
    for (int64_t t = 0; t < n; ++t) {
        m->forward(pool, cache, rp.ids.data() + t, 1, one.data(), false);
        for (uint32_t i = 0; i < ref.n_vocab; ++i)
            ASSERT_NEAR(one[i], batch[static_cast<size_t>(t) * ref.n_vocab + i], 1e-4) << "position " << t;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TinyModel, ::testing::ValuesIn(fixtures()),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (auto& c : s)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return s;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TinyModel);

TEST(TinyModels, FixturesArePresent) {
    // One family per dense architecture in three weight types: 9 files at least.
    EXPECT_GE(fixtures().size(), 9u) << "tests/fixtures/tiny is incomplete; run tools/make_tiny_models.py";
}
