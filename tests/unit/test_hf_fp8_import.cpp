// The FP8 side of the Hugging Face importer on broken copies of tests/fixtures/tiny_hf/deepseek3-fp8
// (2 shards + index): every inconsistency between config.json, the weights and their block
// scales is one hearth::Error naming the file and tensor, never a silently wrong weight.
// (That the intact directory gives transformers' logits is tests/golden/test_hf_models.cpp.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "format/gguf.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kFixture = fs::path(HEARTH_FIXTURES) / "tiny_hf" / "deepseek3-fp8";

json read(const fs::path& p) {
    std::ifstream in(p);
    return json::parse(in);
}
void write(const fs::path& p, const json& j) { std::ofstream(p) << j.dump(1); }

// A copy of the fixture with `edit(dir)` applied; returns the error message of opening it.
std::string error_after(const std::string& name, const std::function<void(const fs::path&)>& edit) {
    const fs::path dir = fs::path(::testing::TempDir()) / ("fp8_" + name);
    fs::remove_all(dir);
    fs::copy(kFixture, dir);
    edit(dir);
    try {
        hearth::format::GGUFFile::open(dir.string());
    } catch (const hearth::Error& e) {
        return e.what();
    }
    return "(no error)";
}

void edit_quant(const fs::path& dir, const std::function<void(json&)>& f) {
    json c = read(dir / "config.json");
    f(c);
    write(dir / "config.json", c);
}

void drop_from_index(const fs::path& dir, const std::string& tensor) {
    json idx = read(dir / "model.safetensors.index.json");
    ASSERT_TRUE(idx["weight_map"].contains(tensor)) << tensor;
    idx["weight_map"].erase(tensor);
    write(dir / "model.safetensors.index.json", idx);
}

const std::string kWeight = "model.layers.0.self_attn.q_a_proj.weight";

}  // namespace

TEST(HfFp8Import, IntactDirectoryIsBf16AndSaysSo) {
    auto f = hearth::format::GGUFFile::open(kFixture.string());
    EXPECT_EQ(f->source_format(), "Hugging Face directory (safetensors, 2 shards, FP8 weights dequantized to BF16)");
    const auto* t = f->find_tensor("blk.0.attn_q_a.weight");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, hearth::DType::BF16);
    EXPECT_EQ(t->shape, (std::vector<int64_t>{160, 136}));
    EXPECT_EQ(f->find_tensor("blk.1.ffn_gate_exps.weight")->dtype, hearth::DType::BF16);
    EXPECT_EQ(f->find_tensor("token_embd.weight")->dtype, hearth::DType::BF16);  // stored BF16, not FP8
}

TEST(HfFp8Import, MissingScaleIsNamed) {
    const std::string e = error_after("noscale", [](const fs::path& d) { drop_from_index(d, kWeight + "_scale_inv"); });
    EXPECT_NE(e.find(kWeight + "_scale_inv is missing"), std::string::npos) << e;
}

TEST(HfFp8Import, ScaleWithoutItsWeightIsAnError) {
    const std::string e = error_after("noweight", [](const fs::path& d) { drop_from_index(d, kWeight); });
    EXPECT_NE(e.find("no FP8 weight " + kWeight), std::string::npos) << e;
}

TEST(HfFp8Import, ScaleGridMustMatchTheBlockSize) {
    const std::string e = error_after("block64", [](const fs::path& d) {
        edit_quant(d, [](json& c) { c["quantization_config"]["weight_block_size"] = {64, 128}; });
    });
    EXPECT_NE(e.find("_scale_inv has shape ["), std::string::npos) << e;
    EXPECT_NE(e.find("in 64x128 blocks needs ["), std::string::npos) << e;
}

TEST(HfFp8Import, ConfigMustDescribeTheScales) {
    std::string e = error_after("noconfig", [](const fs::path& d) {
        edit_quant(d, [](json& c) { c.erase("quantization_config"); });
    });
    EXPECT_NE(e.find("has dtype F8_E4M3 but config.json has no quantization_config"), std::string::npos) << e;
    e = error_after("awq", [](const fs::path& d) {
        edit_quant(d, [](json& c) { c["quantization_config"]["quant_method"] = "awq"; });
    });
    EXPECT_NE(e.find("quant_method\" is \"awq\""), std::string::npos) << e;
    e = error_after("e5m2", [](const fs::path& d) {
        edit_quant(d, [](json& c) { c["quantization_config"]["fmt"] = "e5m2"; });
    });
    EXPECT_NE(e.find("has dtype F8_E4M3 but quantization_config.fmt says e5m2"), std::string::npos) << e;
    e = error_after("static", [](const fs::path& d) {
        edit_quant(d, [](json& c) { c["quantization_config"]["activation_scheme"] = "static"; });
    });
    EXPECT_NE(e.find("activation_scheme"), std::string::npos) << e;
    e = error_after("noblock", [](const fs::path& d) {
        edit_quant(d, [](json& c) { c["quantization_config"].erase("weight_block_size"); });
    });
    EXPECT_NE(e.find("weight_block_size\" is missing"), std::string::npos) << e;
}
