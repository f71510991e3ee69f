// The safetensors reader and the Hugging Face directory importer on bad input: every corrupt,
// truncated or unsupported file is refused with a hearth::Error naming the file and what is
// wrong, never a crash; and a sharded directory (index + two shards) loads like the single file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "model/model.h"

namespace fs = std::filesystem;
using hearth::format::SafetensorsFile;
using nlohmann::json;

namespace {

std::vector<uint8_t> make_st(const std::string& header, size_t n_data, uint64_t declared_len = UINT64_MAX) {
    const uint64_t len = declared_len == UINT64_MAX ? header.size() : declared_len;
    std::vector<uint8_t> out(8 + header.size() + n_data);
    for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(len >> (8 * i));  // little-endian
    for (size_t i = 0; i < header.size(); ++i) out[8 + i] = static_cast<uint8_t>(header[i]);
    for (size_t i = 0; i < n_data; ++i) out[8 + header.size() + i] = static_cast<uint8_t>(i * 7);
    return out;
}

// Parses and returns the error message ("" when it parsed).
std::string error_of(const std::vector<uint8_t>& buf) {
    try {
        SafetensorsFile::parse(buf.data(), buf.size(), "bad.safetensors");
    } catch (const hearth::Error& e) {
        return e.what();
    }
    return "";
}

std::string one(const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"({"w": {"dtype": ")" + dtype + R"(", "shape": )" + shape + R"(, "data_offsets": )" + offsets + "}}";
}

void write_file(const fs::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A fresh scratch directory holding the llama fixture's config and tokenizer files.
fs::path scratch(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("hearth_st_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    const fs::path src = fs::path(HEARTH_FIXTURES) / "tiny_hf" / "llama";
    for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"}) fs::copy_file(src / f, d / f);
    return d;
}

std::string import_error(const fs::path& dir) {
    try {
        hearth::format::GGUFFile::open(dir.string());
    } catch (const hearth::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Safetensors, ParsesAValidFile) {
    const std::string h =
        R"({"__metadata__": {"format": "pt"}, "a": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]},)"
        R"( "b": {"dtype": "F32", "shape": [], "data_offsets": [12, 16]}})";
    auto buf = make_st(h, 16);
    auto f = SafetensorsFile::parse(buf.data(), buf.size(), "ok.safetensors");
    ASSERT_EQ(f->tensors().size(), 2u);
    const auto* a = f->find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a->hearth, hearth::DType::BF16);
    EXPECT_EQ(a->nbytes, 12u);
    EXPECT_EQ(a->data, buf.data() + 8 + h.size());
    EXPECT_EQ(f->find("b")->n_elements(), 1);
    EXPECT_EQ(f->metadata().at("format"), "pt");
}

TEST(Safetensors, RejectsCorruptHeaders) {
    EXPECT_NE(error_of({1, 2, 3}).find("too short"), std::string::npos);
    const std::string h = one("F32", "[2]", "[0, 8]");
    EXPECT_NE(error_of(make_st(h, 8, h.size() + 100)).find("header length"), std::string::npos);
    EXPECT_NE(error_of(make_st(h, 8, UINT64_MAX - 3)).find("truncated"), std::string::npos);
    EXPECT_NE(error_of(make_st("{\"w\": [1, 2", 8)).find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of(make_st("[1, 2, 3]", 0)).find("JSON object"), std::string::npos);
    EXPECT_NE(error_of(make_st(R"({"w": 5})", 0)).find("not an object"), std::string::npos);
}

TEST(Safetensors, RejectsBadTensorEntries) {
    auto err = [](const std::string& h, size_t n) { return error_of(make_st(h, n)); };
    // Offsets past the end of the file.
    std::string e = err(one("F32", "[4]", "[0, 16]"), 8);
    EXPECT_NE(e.find("past the end"), std::string::npos) << e;
    EXPECT_NE(e.find("tensor 'w'"), std::string::npos) << e;
    EXPECT_NE(e.find("bad.safetensors"), std::string::npos) << e;
    // Unknown dtype, named.
    e = err(one("F7", "[2]", "[0, 8]"), 8);
    EXPECT_NE(e.find("unknown dtype \"F7\""), std::string::npos) << e;
    // Offsets that disagree with the shape.
    EXPECT_NE(err(one("F32", "[3]", "[0, 8]"), 8).find("span 8 bytes"), std::string::npos);
    EXPECT_NE(err(one("F32", "[2]", "[8, 0]"), 8).find("before begin"), std::string::npos);
    EXPECT_NE(err(one("F32", "[2]", "[-8, 0]"), 8).find("negative"), std::string::npos);
    EXPECT_NE(err(one("F32", "[2]", "[0.5, 8]"), 8).find("non-negative integer"), std::string::npos);
    EXPECT_NE(err(one("F32", "[2]", "[0]"), 8).find("data_offsets"), std::string::npos);
    // Element counts and byte sizes that overflow 64 bits.
    EXPECT_NE(err(one("F32", "[4611686018427387904, 8]", "[0, 8]"), 8).find("overflows"), std::string::npos);
    EXPECT_NE(err(one("F64", "[4611686018427387904]", "[0, 8]"), 8).find("overflows"), std::string::npos);
    EXPECT_NE(err(one("F32", "[-2]", "[0, 8]"), 8).find("negative"), std::string::npos);
    EXPECT_NE(err(R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", 8).find("shape"), std::string::npos);
    // Two tensors sharing bytes.
    const std::string overlap = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                                R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})";
    EXPECT_NE(err(overlap, 12).find("overlap"), std::string::npos);
}

TEST(HfImport, RefusesBrokenDirectories) {
    const fs::path d = scratch("broken");
    // No weights at all.
    std::string e = import_error(d);
    EXPECT_NE(e.find("no model.safetensors"), std::string::npos) << e;

    // An index naming a shard that is not there.
    std::ofstream(d / "model.safetensors.index.json")
        << R"({"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors"}})";
    e = import_error(d);
    EXPECT_NE(e.find("model-00001-of-00002.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("missing"), std::string::npos) << e;
    // ... or a path outside the directory.
    std::ofstream(d / "model.safetensors.index.json")
        << R"({"weight_map": {"model.embed_tokens.weight": "../model.safetensors"}})";
    e = import_error(d);
    EXPECT_NE(e.find("not a file in the directory"), std::string::npos) << e;
    fs::remove(d / "model.safetensors.index.json");

    // A truncated copy of a real file.
    const fs::path real = fs::path(HEARTH_FIXTURES) / "tiny_hf" / "llama" / "model.safetensors";
    std::ifstream in(real, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes.resize(bytes.size() - 100);
    write_file(d / "model.safetensors", bytes);
    e = import_error(d);
    EXPECT_NE(e.find("past the end of the file"), std::string::npos) << e;
    EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;

    // FP8 weights: named, with what to do about it.
    write_file(d / "model.safetensors",
               make_st(R"({"model.embed_tokens.weight": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", 4));
    e = import_error(d);
    EXPECT_NE(e.find("model.embed_tokens.weight has dtype F8_E4M3"), std::string::npos) << e;

    // A tensor name no family has.
    write_file(d / "model.safetensors",
               make_st(R"({"model.layers.0.mystery.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 4));
    e = import_error(d);
    EXPECT_NE(e.find("model.layers.0.mystery.weight"), std::string::npos) << e;

    // An architecture hearth does not import, and a broken config.json.
    std::ofstream(d / "config.json") << R"({"architectures": ["GPT2LMHeadModel"], "num_hidden_layers": 2})";
    e = import_error(d);
    EXPECT_NE(e.find("GPT2LMHeadModel"), std::string::npos) << e;
    EXPECT_NE(e.find("config.json"), std::string::npos) << e;
    std::ofstream(d / "config.json") << "{ not json";
    EXPECT_NE(import_error(d).find("config.json: not valid JSON"), std::string::npos);
    fs::remove(d / "config.json");
    EXPECT_NE(import_error(d).find("without config.json"), std::string::npos);
    fs::remove_all(d);
}

// Two shards plus an index hold the same tensors as the single file: same logits, bit for bit.
TEST(HfImport, ShardedDirectoryLoadsLikeTheSingleFile) {
    const fs::path src = fs::path(HEARTH_FIXTURES) / "tiny_hf" / "llama";
    auto whole = SafetensorsFile::open((src / "model.safetensors").string());
    const fs::path d = scratch("sharded");
    json index = {{"metadata", json::object()}, {"weight_map", json::object()}};
    for (int shard = 0; shard < 2; ++shard) {
        json header = json::object();
        std::vector<uint8_t> data;
        const std::string file = "model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors";
        for (size_t i = static_cast<size_t>(shard); i < whole->tensors().size(); i += 2) {
            const auto& t = whole->tensors()[i];
            header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.nbytes}}};
            data.insert(data.end(), t.data, t.data + t.nbytes);
            index["weight_map"][t.name] = file;
        }
        std::vector<uint8_t> bytes = make_st(header.dump(), 0);
        bytes.insert(bytes.end(), data.begin(), data.end());
        write_file(d / file, bytes);
    }
    std::ofstream(d / "model.safetensors.index.json") << index.dump();

    auto a = hearth::model::Model::load(src.string());
    auto b = hearth::model::Model::load(d.string());
    hearth::ThreadPool pool(1);
    const std::vector<int32_t> ids = {1, 50, 260, 7, 300, 99};
    std::vector<float> la(ids.size() * 320), lb(ids.size() * 320);
    auto ca = a->make_cache(16, hearth::DType::F32), cb = b->make_cache(16, hearth::DType::F32);
    a->forward(pool, ca, ids.data(), static_cast<int64_t>(ids.size()), la.data(), true);
    b->forward(pool, cb, ids.data(), static_cast<int64_t>(ids.size()), lb.data(), true);
    EXPECT_EQ(la, lb);
    EXPECT_EQ(b->file().tensors().size(), a->file().tensors().size());

    // A tensor the index promises but the shard lacks.
    index["weight_map"]["model.extra.weight"] = "model-00001-of-00002.safetensors";
    std::ofstream(d / "model.safetensors.index.json") << index.dump();
    const std::string e = import_error(d);
    EXPECT_NE(e.find("model.extra.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("is not in the file"), std::string::npos) << e;
    fs::remove_all(d);
}
