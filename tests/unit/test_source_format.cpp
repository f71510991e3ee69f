// What a model was read from, as `hearth info` and the passport (JSON, Markdown, CycloneDX)
// report it: "GGUF v3" for a file, "Hugging Face directory (safetensors, N shard(s))" for an
// imported directory, which has no GGUF version to print.
#include <gtest/gtest.h>

#include <string>

#include "audit/passport.h"
#include "format/gguf.h"

using namespace hearth;

namespace {

const std::string kFix = HEARTH_FIXTURES;

bool has_property(const nlohmann::ordered_json& bom, const std::string& name, std::string* value) {
    for (const auto& p : bom["components"][0]["properties"])
        if (p["name"] == name) {
            if (value) *value = p["value"].get<std::string>();
            return true;
        }
    return false;
}

TEST(SourceFormat, GgufFileSaysItsVersion) {
    const std::string path = kFix + "/tiny/llama-f16.gguf";
    auto f = format::GGUFFile::open(path);
    EXPECT_TRUE(f->is_gguf());
    EXPECT_EQ(f->source_format(), "GGUF v" + std::to_string(f->version()));
    const audit::Passport p = audit::make_passport(path, false);
    const auto j = audit::passport_json(p);
    EXPECT_EQ(j["file"]["format"], f->source_format());
    EXPECT_EQ(j["file"]["gguf_version"], f->version());
    EXPECT_NE(audit::passport_markdown(p).find("bytes (GGUF v"), std::string::npos);
    std::string v;
    const auto bom = audit::passport_cyclonedx(p, "2026-01-01T00:00:00Z");
    ASSERT_TRUE(has_property(bom, "hearth:gguf.version", &v));
    EXPECT_EQ(v, std::to_string(f->version()));
    ASSERT_TRUE(has_property(bom, "hearth:source.format", &v));
    EXPECT_EQ(v, f->source_format());
}

TEST(SourceFormat, HuggingFaceDirectoryIsNotCalledGgufV0) {
    const std::string dir = kFix + "/tiny_hf/qwen3";  // one model.safetensors
    auto f = format::GGUFFile::open(dir);
    EXPECT_FALSE(f->is_gguf());
    EXPECT_EQ(f->source_format(), "Hugging Face directory (safetensors, 1 shard)");
    const audit::Passport p = audit::make_passport(dir, false);
    const auto j = audit::passport_json(p);
    EXPECT_EQ(j["file"]["format"], "Hugging Face directory (safetensors, 1 shard)");
    EXPECT_FALSE(j["file"].contains("gguf_version"));
    const std::string md = audit::passport_markdown(p);
    EXPECT_NE(md.find("bytes (Hugging Face directory (safetensors, 1 shard))"), std::string::npos);
    EXPECT_EQ(md.find("GGUF v0"), std::string::npos);
    const auto bom = audit::passport_cyclonedx(p, "2026-01-01T00:00:00Z");
    std::string v;
    EXPECT_FALSE(has_property(bom, "hearth:gguf.version", nullptr));
    ASSERT_TRUE(has_property(bom, "hearth:source.format", &v));
    EXPECT_EQ(v, "Hugging Face directory (safetensors, 1 shard)");
}

}  // namespace
