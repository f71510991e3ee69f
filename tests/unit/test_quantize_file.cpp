// The file-level quantizer: llama.cpp's per-tensor recipe on synthetic files, a whole tiny
// model quantized and read back, and failures that must leave no output file behind.
// (That the files load in llama.cpp and give the same greedy text there is checked by
// tools/check_quantized_in_llamacpp.sh; the recipe against llama-quantize's own choices too.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "quant/quant.h"
#include "quant/quantize_file.h"
#include "quant/quantize_weights.h"

namespace hearth::quant {
namespace {

namespace fs = std::filesystem;

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("hearth-qf-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::vector<uint8_t> zeros_f32(int64_t n) { return std::vector<uint8_t>(static_cast<size_t>(n) * 4, 0); }

// A llama-shaped file with `n_layer` blocks whose tensors are only as large as the recipe
// needs (the row length decides fallbacks; the row count does not matter).
std::vector<uint8_t> synthetic_model(int n_layer, bool with_output, DType attn_q_type = DType::F32) {
    format::GGUFWriter w;
    w.add_string("general.architecture", "llama");
    w.add_string("general.name", "synthetic");
    w.add_u32("general.file_type", 0);
    w.add_u32("llama.block_count", static_cast<uint32_t>(n_layer));
    w.add_array("tokenizer.ggml.tokens", format::GGUFType::STRING, {format::gguf_string("a"), format::gguf_string("b")});
    w.add_tensor("token_embd.weight", DType::F32, {256, 4}, zeros_f32(1024));
    if (with_output) w.add_tensor("output.weight", DType::F32, {256, 4}, zeros_f32(1024));
    w.add_tensor("output_norm.weight", DType::F32, {256}, zeros_f32(256));
    for (int i = 0; i < n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        w.add_tensor(p + "attn_norm.weight", DType::F32, {256}, zeros_f32(256));
        if (attn_q_type == DType::F32) {
            w.add_tensor(p + "attn_q.weight", DType::F32, {256, 2}, zeros_f32(512));
        } else {
            std::vector<uint8_t> q(dtype_row_bytes(attn_q_type, 256) * 2, 0);
            w.add_tensor(p + "attn_q.weight", attn_q_type, {256, 2}, q);
        }
        w.add_tensor(p + "attn_k.weight", DType::F32, {96, 2}, zeros_f32(192));   // 96: no 256-blocks
        w.add_tensor(p + "attn_v.weight", DType::F32, {256, 2}, zeros_f32(512));
        w.add_tensor(p + "attn_q.bias", DType::F32, {256, 1}, zeros_f32(256));     // trailing 1: a vector
        w.add_tensor(p + "ffn_down.weight", DType::F32, {512, 2}, zeros_f32(1024));
        w.add_tensor(p + "ffn_up.weight", DType::F32, {40, 2}, zeros_f32(80));      // 40: not even 32-blocks
    }
    return w.to_bytes();
}

std::map<std::string, DType> plan_types(const std::vector<uint8_t>& bytes, const char* type, bool allow = false) {
    auto f = format::GGUFFile::parse(bytes.data(), bytes.size(), "synthetic.gguf");
    const FileTypeSpec* ft = find_file_type(type);
    EXPECT_NE(ft, nullptr) << type;
    std::map<std::string, DType> out;
    for (const TensorPlan& p : plan_quantization(*f, *ft, allow)) out[p.name] = p.to;
    return out;
}

TEST(QuantizePlan, Q4_K_MFollowsLlamaCppRecipe) {
    const auto bytes = synthetic_model(16, true);
    const auto t = plan_types(bytes, "q4_k_m");  // names are case-insensitive
    EXPECT_EQ(t.at("output.weight"), DType::Q6_K);
    EXPECT_EQ(t.at("token_embd.weight"), DType::Q4_K);
    EXPECT_EQ(t.at("output_norm.weight"), DType::F32);
    // use_more_bits for 16 layers: the first and last two, then every third from layer 4.
    const std::vector<int> more = {0, 1, 4, 7, 10, 13, 14, 15};
    for (int i = 0; i < 16; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        const bool m = std::find(more.begin(), more.end(), i) != more.end();
        EXPECT_EQ(t.at(p + "attn_v.weight"), m ? DType::Q6_K : DType::Q4_K) << i;
        EXPECT_EQ(t.at(p + "ffn_down.weight"), m ? DType::Q6_K : DType::Q4_K) << i;
        EXPECT_EQ(t.at(p + "attn_q.weight"), DType::Q4_K) << i;
        EXPECT_EQ(t.at(p + "attn_k.weight"), DType::Q5_0) << i;  // Q4_K fallback for 96 columns
        EXPECT_EQ(t.at(p + "ffn_up.weight"), DType::F16) << i;   // nothing with 32-blocks fits 40
        EXPECT_EQ(t.at(p + "attn_norm.weight"), DType::F32) << i;
        EXPECT_EQ(t.at(p + "attn_q.bias"), DType::F32) << i;
    }
}

TEST(QuantizePlan, OtherTypes) {
    const auto bytes = synthetic_model(8, true);
    auto t = plan_types(bytes, "Q5_K_M");
    EXPECT_EQ(t.at("blk.0.attn_v.weight"), DType::Q6_K);
    EXPECT_EQ(t.at("blk.3.attn_v.weight"), DType::Q6_K);  // 8 layers: 0, 3, 6, 7 get more bits
    EXPECT_EQ(t.at("blk.2.attn_v.weight"), DType::Q5_K);
    EXPECT_EQ(t.at("blk.5.ffn_down.weight"), DType::Q5_K);
    EXPECT_EQ(t.at("blk.6.ffn_down.weight"), DType::Q6_K);
    EXPECT_EQ(t.at("blk.3.attn_k.weight"), DType::Q5_1);  // Q5_K fallback
    t = plan_types(bytes, "Q8_0");
    EXPECT_EQ(t.at("output.weight"), DType::Q8_0);
    EXPECT_EQ(t.at("blk.0.attn_v.weight"), DType::Q8_0);
    EXPECT_EQ(t.at("blk.0.attn_k.weight"), DType::Q8_0);
    t = plan_types(bytes, "Q4_0");
    EXPECT_EQ(t.at("output.weight"), DType::Q6_K);  // llama.cpp gives the output matrix Q6_K
    EXPECT_EQ(t.at("blk.0.attn_v.weight"), DType::Q4_0);
    t = plan_types(bytes, "Q6_K");
    EXPECT_EQ(t.at("blk.0.attn_k.weight"), DType::Q8_0);  // Q6_K fallback
    t = plan_types(bytes, "F16");
    EXPECT_EQ(t.at("output.weight"), DType::F16);
    EXPECT_EQ(t.at("blk.0.ffn_up.weight"), DType::F16);
    EXPECT_EQ(t.at("blk.0.attn_norm.weight"), DType::F32);
    EXPECT_EQ(find_file_type("Q3_K"), nullptr);
}

// llama.cpp's llama-quant.cpp, Q4_K_S: Q5_K for attn_v while fewer than 4 have been seen, and
// for ffn_down in layers below n_layer / 8; Q5_K_S has no per-tensor adjustment.
TEST(QuantizePlan, SmallMixesFollowLlamaCppRecipe) {
    const auto bytes = synthetic_model(16, true);
    auto t = plan_types(bytes, "Q4_K_S");
    EXPECT_EQ(t.at("output.weight"), DType::Q6_K);
    for (int i = 0; i < 16; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        EXPECT_EQ(t.at(p + "attn_v.weight"), i < 4 ? DType::Q5_K : DType::Q4_K) << i;
        EXPECT_EQ(t.at(p + "ffn_down.weight"), i < 2 ? DType::Q5_K : DType::Q4_K) << i;
        EXPECT_EQ(t.at(p + "attn_q.weight"), DType::Q4_K) << i;
    }
    t = plan_types(bytes, "Q5_K_S");
    EXPECT_EQ(t.at("output.weight"), DType::Q6_K);
    for (int i = 0; i < 16; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        EXPECT_EQ(t.at(p + "attn_v.weight"), DType::Q5_K) << i;
        EXPECT_EQ(t.at(p + "ffn_down.weight"), DType::Q5_K) << i;
    }
}

// general.file_type numbers are llama.cpp's llama_ftype; llama-quantize treats "Q4_K" and
// "Q5_K" as the _M mixes, so hearth writes the same recipe and number for those names.
TEST(QuantizePlan, FileTypeNumbersAndAliasesMatchLlamaQuantize) {
    const std::map<std::string, uint32_t> want = {
        {"Q4_0", 2},    {"Q4_1", 3},    {"Q5_0", 8},  {"Q5_1", 9},    {"Q8_0", 7},   {"Q4_K_S", 14}, {"Q4_K_M", 15},
        {"Q4_K", 15},   {"Q5_K_S", 16}, {"Q5_K_M", 17}, {"Q5_K", 17}, {"Q6_K", 18},  {"F16", 1},     {"BF16", 32},
        {"F32", 0}};
    for (const auto& [name, ftype] : want) {
        const FileTypeSpec* ft = find_file_type(name);
        ASSERT_NE(ft, nullptr) << name;
        EXPECT_EQ(ft->llama_ftype, ftype) << name;
    }
    const auto bytes = synthetic_model(16, true);
    EXPECT_EQ(plan_types(bytes, "Q4_K"), plan_types(bytes, "Q4_K_M"));
    EXPECT_EQ(plan_types(bytes, "Q5_K"), plan_types(bytes, "Q5_K_M"));
}

TEST(QuantizePlan, TiedEmbeddingGetsTheOutputType) {
    const auto t = plan_types(synthetic_model(4, false), "Q4_K_M");
    EXPECT_EQ(t.at("token_embd.weight"), DType::Q6_K);
}

TEST(QuantizePlan, QuantizedInputNeedsAllowRequantize) {
    const auto bytes = synthetic_model(4, true, DType::Q8_0);
    try {
        plan_types(bytes, "Q4_K_M");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("synthetic.gguf"), std::string::npos) << msg;
        EXPECT_NE(msg.find("attn_q.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("--allow-requantize"), std::string::npos) << msg;
    }
    EXPECT_EQ(plan_types(bytes, "Q4_K_M", true).at("blk.0.attn_q.weight"), DType::Q4_K);
    // Same type: copied, which needs no permission.
    EXPECT_EQ(plan_types(bytes, "Q8_0").at("blk.0.attn_q.weight"), DType::Q8_0);
}

// ------------------------------------------------------------------ whole files

TEST(QuantizeFile, TinyModelToQ8_0ReadsBack) {
    TempDir dir;
    const std::string in = std::string(HEARTH_FIXTURES) + "/tiny/llama-f32.gguf";
    const std::string out = (dir.path / "llama-q8_0.gguf").string();
    QuantizeOptions o;
    o.threads = 2;
    o.progress = false;
    const QuantizeReport r = quantize_file(in, out, *find_file_type("Q8_0"), o);
    EXPECT_FALSE(fs::exists(out + ".tmp"));
    auto src = format::GGUFFile::open(in);
    auto dst = format::GGUFFile::open(out);
    EXPECT_EQ(dst->get_int("general.file_type"), 7);
    EXPECT_EQ(dst->get_int("general.quantization_version"), 2);
    EXPECT_EQ(dst->get_string("general.name"), src->get_string("general.name"));
    for (const auto& [key, v] : src->metadata()) EXPECT_TRUE(dst->has(key)) << key;
    ASSERT_EQ(dst->tensors().size(), src->tensors().size());
    EXPECT_EQ(r.output_file_bytes, dst->file_size());
    uint64_t q8 = 0;
    for (size_t i = 0; i < src->tensors().size(); ++i) {
        const auto& a = src->tensors()[i];
        const auto& b = dst->tensors()[i];
        ASSERT_EQ(a.name, b.name);
        ASSERT_EQ(a.shape, b.shape);
        if (a.shape.size() < 2) {
            EXPECT_EQ(b.dtype, DType::F32) << b.name;
            EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << b.name;
            continue;
        }
        ASSERT_EQ(b.dtype, DType::Q8_0) << b.name;
        ++q8;
        // Each row is exactly what the row quantizer makes of the source row.
        std::vector<uint8_t> expect(b.nbytes);
        const int64_t n = a.shape[0];
        for (int64_t r2 = 0; r2 < a.rows(); ++r2)
            quantize_weight_row(DType::Q8_0, reinterpret_cast<const float*>(a.data) + r2 * n,
                                expect.data() + r2 * dtype_row_bytes(DType::Q8_0, n), n);
        EXPECT_EQ(std::memcmp(expect.data(), b.data, b.nbytes), 0) << b.name;
    }
    EXPECT_EQ(r.by_type.at("Q8_0").tensors, q8);
}

TEST(QuantizeFile, NonFiniteWeightFailsAndLeavesNoFile) {
    TempDir dir;
    format::GGUFWriter w;
    w.add_string("general.architecture", "llama");
    std::vector<float> x(64 * 2, 0.5f);
    x[64 + 5] = std::numeric_limits<float>::quiet_NaN();
    std::vector<uint8_t> bytes(x.size() * 4);
    std::memcpy(bytes.data(), x.data(), bytes.size());
    w.add_tensor("blk.0.attn_q.weight", DType::F32, {64, 2}, bytes);
    const std::string in = (dir.path / "nan.gguf").string(), out = (dir.path / "out.gguf").string();
    w.write_file(in);
    QuantizeOptions o;
    o.progress = false;
    try {
        quantize_file(in, out, *find_file_type("Q8_0"), o);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("blk.0.attn_q.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("row 1"), std::string::npos) << msg;
        EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
    }
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST(QuantizeFile, MissingInputIsAnError) {
    QuantizeOptions o;
    o.progress = false;
    EXPECT_THROW(quantize_file("/nonexistent/in.gguf", "/tmp/never.gguf", *find_file_type("Q8_0"), o), Error);
}

}  // namespace
}  // namespace hearth::quant
