// Embeddings (engine/embedding.h): hearth's pooled final hidden states against transformers'
// last_hidden_state on the tiny F32 Hugging Face fixtures (tests/fixtures/embeddings, written
// by tools/gen_embedding_goldens.py), and the API's request parsing and response encoding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "backend/cpu/matmul.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/embedding.h"
#include "model/model.h"
#include "server/api.h"

namespace fs = std::filesystem;
using nlohmann::json;
using hearth::engine::Pooling;

namespace {

json goldens() {
    std::ifstream in(fs::path(HEARTH_FIXTURES) / "embeddings" / "tiny_hf_embeddings.json");
    if (!in) throw std::runtime_error("missing tests/fixtures/embeddings/tiny_hf_embeddings.json");
    return json::parse(in);
}

struct ReferenceMatmulGuard {
    ReferenceMatmulGuard() { hearth::backend::cpu::set_reference_matmul(true); }
    ~ReferenceMatmulGuard() { hearth::backend::cpu::set_reference_matmul(false); }
};

}  // namespace

// Mean and last-token pooling, fed in chunks of 16 tokens (the 40-token input takes three
// passes), equal transformers' to 1e-4 in every component.
TEST(Embeddings, MatchTransformersLastHiddenState) {
    const json g = goldens();
    ASSERT_EQ(g["models"].size(), 3u);
    ReferenceMatmulGuard guard;
    hearth::ThreadPool pool(2);
    hearth::model::ScratchArena scratch;
    for (const auto& [name, entry] : g["models"].items()) {
        auto m = hearth::model::Model::load((fs::path(HEARTH_FIXTURES) / entry["dir"].get<std::string>()).string());
        ASSERT_EQ(m->hparams().n_embd, entry["n_embd"].get<int64_t>());
        for (const auto& c : entry["cases"]) {
            const auto ids = c["ids"].get<std::vector<int32_t>>();
            for (Pooling p : {Pooling::kMean, Pooling::kLast}) {
                const auto want = c[hearth::engine::pooling_name(p)].get<std::vector<double>>();
                const auto got = hearth::engine::embed(*m, pool, ids, p, 16, scratch);
                ASSERT_EQ(got.size(), want.size());
                double worst = 0, norm = 0;
                for (size_t i = 0; i < got.size(); ++i) {
                    worst = std::max(worst, std::abs(got[i] - want[i]));
                    norm += static_cast<double>(got[i]) * got[i];
                }
                EXPECT_LE(worst, 1e-4) << name << " " << ids.size() << " tokens, " << hearth::engine::pooling_name(p);
                std::printf("[ embeddings ] %-6s %2zu tokens %-4s max |hearth - transformers| = %.3g\n", name.c_str(),
                            ids.size(), hearth::engine::pooling_name(p), worst);
                EXPECT_NEAR(norm, 1.0, 1e-5);
            }
        }
    }
}

// The fast (non-reference) matmul path the server uses stays close too, and the batch size
// does not change the result beyond float noise.
TEST(Embeddings, FastPathAndBatchSizeAgree) {
    const json g = goldens();
    const json& entry = g["models"]["qwen2"];
    auto m = hearth::model::Model::load((fs::path(HEARTH_FIXTURES) / entry["dir"].get<std::string>()).string());
    hearth::ThreadPool pool(2);
    hearth::model::ScratchArena scratch;
    const auto ids = entry["cases"][2]["ids"].get<std::vector<int32_t>>();
    const auto want = entry["cases"][2]["mean"].get<std::vector<double>>();
    const auto whole = hearth::engine::embed(*m, pool, ids, Pooling::kMean, 256, scratch);
    const auto chunked = hearth::engine::embed(*m, pool, ids, Pooling::kMean, 7, scratch);
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(whole[i], want[i], 1e-3);
        EXPECT_NEAR(chunked[i], whole[i], 1e-5);
    }
}

TEST(Embeddings, BadInputsThrow) {
    const json g = goldens();
    auto m = hearth::model::Model::load((fs::path(HEARTH_FIXTURES) / "tiny_hf" / "qwen2").string());
    hearth::ThreadPool pool(1);
    hearth::model::ScratchArena scratch;
    EXPECT_THROW(hearth::engine::embed(*m, pool, {}, Pooling::kMean, 16, scratch), hearth::Error);
    EXPECT_THROW(hearth::engine::embed(*m, pool, {1, 320}, Pooling::kMean, 16, scratch), hearth::Error);
    EXPECT_EQ(hearth::engine::parse_pooling("last"), Pooling::kLast);
    EXPECT_THROW(hearth::engine::parse_pooling("cls"), hearth::Error);
}

namespace api = hearth::server;

TEST(EmbeddingApi, ParsesEveryInputForm) {
    auto r = api::parse_embedding_request(R"({"model":"m","input":"hello"})");
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_EQ(r.inputs[0].text, "hello");
    EXPECT_FALSE(r.base64);
    r = api::parse_embedding_request(R"({"model":"m","input":["a","b","c"],"encoding_format":"base64"})");
    ASSERT_EQ(r.inputs.size(), 3u);
    EXPECT_EQ(r.inputs[2].text, "c");
    EXPECT_TRUE(r.base64);
    r = api::parse_embedding_request(R"({"model":"m","input":[1,2,3]})");
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_TRUE(r.inputs[0].is_tokens);
    EXPECT_EQ(r.inputs[0].tokens, (std::vector<int32_t>{1, 2, 3}));
    r = api::parse_embedding_request(R"({"model":"m","input":[[1,2],[3]],"dimensions":896})");
    ASSERT_EQ(r.inputs.size(), 2u);
    EXPECT_EQ(r.inputs[1].tokens, (std::vector<int32_t>{3}));
    EXPECT_EQ(r.dimensions.value(), 896);
}

TEST(EmbeddingApi, RefusesBadRequestsWithTheField) {
    auto param_of = [](const char* body) {
        try {
            api::parse_embedding_request(body);
        } catch (const api::ApiError& e) {
            EXPECT_EQ(e.status, 400);
            return e.param;
        }
        return std::string("accepted");
    };
    EXPECT_EQ(param_of(R"({"input":"x"})"), "model");
    EXPECT_EQ(param_of(R"({"model":"m"})"), "input");
    EXPECT_EQ(param_of(R"({"model":"m","input":""})"), "input");
    EXPECT_EQ(param_of(R"({"model":"m","input":[]})"), "input");
    EXPECT_EQ(param_of(R"({"model":"m","input":[[]]})"), "input");
    EXPECT_EQ(param_of(R"({"model":"m","input":[1,"a"]})"), "input");
    EXPECT_EQ(param_of(R"({"model":"m","input":[-1]})"), "input");
    EXPECT_EQ(param_of(R"({"model":"m","input":{"a":1}})"), "input");
    EXPECT_EQ(param_of(R"({"model":"m","input":"x","encoding_format":"int8"})"), "encoding_format");
    EXPECT_EQ(param_of(R"({"model":"m","input":"x","dimensions":0})"), "dimensions");
}

// base64 is the little-endian float32 bytes (checked against RFC 4648's test vectors and a
// hand-encoded vector).
TEST(EmbeddingApi, Base64MatchesTheFloats) {
    EXPECT_EQ(api::base64_encode(""), "");
    EXPECT_EQ(api::base64_encode("f"), "Zg==");
    EXPECT_EQ(api::base64_encode("fo"), "Zm8=");
    EXPECT_EQ(api::base64_encode("foobar"), "Zm9vYmFy");
    // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 -> "AACAPwAAAMA="
    const auto j = api::embedding_response("m", {{1.0f, -2.0f}}, true, 5);
    EXPECT_EQ(j["data"][0]["embedding"], "AACAPwAAAMA=");
    EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
    const auto f = api::embedding_response("m", {{1.0f}, {0.5f}}, false, 2);
    EXPECT_EQ(f["data"][1]["index"], 1);
    EXPECT_EQ(f["data"][1]["embedding"][0], 0.5);
    EXPECT_EQ(f["object"], "list");
}
