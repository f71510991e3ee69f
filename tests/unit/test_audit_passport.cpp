// Model passports: file hash, known chat templates, licence/lineage extraction, warnings,
// and the CycloneDX 1.6 ML-BOM's required fields.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/hash.h"
#include "audit/known_templates.h"
#include "audit/passport.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"

using namespace hearth;
using namespace hearth::audit;
namespace fs = std::filesystem;

namespace {

const std::string kFix = HEARTH_FIXTURES;

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool has_warning(const Passport& p, const std::string& needle) {
    for (const auto& w : p.warnings)
        if (w.find(needle) != std::string::npos) return true;
    return false;
}

// A small GGUF with provenance metadata and one tensor, written with hearth's writer.
std::string write_provenance_model(const std::string& tmpl, const std::string& license) {
    format::GGUFWriter w;
    w.add_string("general.architecture", "llama");
    w.add_string("general.name", "Test Model 1B Instruct");
    w.add_string("general.basename", "Test-Model");
    w.add_string("general.finetune", "Instruct");
    w.add_string("general.organization", "Example Org");
    if (!license.empty()) {
        w.add_string("general.license", license);
        w.add_string("general.license.link", "https://example.org/LICENSE");
    }
    w.add_u32("general.base_model.count", 1);
    w.add_string("general.base_model.0.name", "Test Model 1B");
    w.add_string("general.base_model.0.organization", "Example Org");
    w.add_string("general.base_model.0.repo_url", "https://example.org/test-model-1b");
    w.add_u32("general.dataset.count", 2);
    w.add_string("general.dataset.0.name", "Example Corpus");
    w.add_string("general.dataset.1.name", "Example Instructions");
    w.add_string("general.dataset.1.repo_url", "https://example.org/instructions");
    w.add_u32("llama.context_length", 2048);
    w.add("tokenizer.ggml.tokens", format::gguf_string_array({"a", "b", "ab"}));
    w.add("tokenizer.ggml.merges", format::gguf_string_array({"a b"}));
    w.add_array("tokenizer.ggml.token_type", format::GGUFType::INT32,
                {format::gguf_int(format::GGUFType::INT32, 1), format::gguf_int(format::GGUFType::INT32, 1),
                 format::gguf_int(format::GGUFType::INT32, 1)});
    w.add_string("tokenizer.ggml.model", "gpt2");
    if (!tmpl.empty()) w.add_string("tokenizer.chat_template", tmpl);
    std::vector<uint8_t> data(4 * 8, 0);
    w.add_tensor("token_embd.weight", DType::F32, {8}, data);
    const std::string path = (fs::temp_directory_path() / ("hearth_passport_" + std::to_string(::getpid()) + ".gguf")).string();
    w.write_file(path);
    return path;
}

}  // namespace

TEST(AuditPassport, Sha256) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string path = kFix + "/tiny/qwen2-f32.gguf";
    EXPECT_EQ(sha256_file(path, false), sha256_hex(read_all(path)));
}

TEST(AuditPassport, KnownTemplateTableMatchesFixtures) {
    const std::string dir = kFix + "/chat/templates/";
    for (const auto& k : known_templates()) {
        const std::string text = read_all(dir + std::string(k.fixture));
        ASSERT_FALSE(text.empty()) << k.fixture;
        EXPECT_EQ(sha256_hex(text), k.sha256) << k.fixture;
        // Marker guesses agree with the table for every known template.
        EXPECT_EQ(guess_template_family(text), std::string(k.family)) << k.fixture;
    }
    // The default model's template is byte-identical to Qwen2.5-Instruct's.
    const auto* k = find_known_template(sha256_hex(read_all(dir + "qwen2.5-coder-0.5b-instruct.gguf.jinja")));
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->family, "qwen2.5");
}

TEST(AuditPassport, TinyModelWarnings) {
    Passport p = make_passport(kFix + "/tiny/qwen2-f32.gguf", false);
    EXPECT_EQ(p.architecture, "qwen2");
    EXPECT_TRUE(p.supported);
    EXPECT_GT(p.n_params, 0u);
    EXPECT_EQ(p.n_active_params, p.n_params);
    EXPECT_EQ(p.context_length, 256);
    EXPECT_EQ(p.vocab_size, 320u);
    EXPECT_EQ(p.tokenizer_fingerprint.size(), 64u);
    EXPECT_FALSE(p.has_chat_template);
    EXPECT_TRUE(has_warning(p, "no chat template"));
    EXPECT_TRUE(has_warning(p, "no licence"));
    EXPECT_TRUE(has_warning(p, "unknown lineage"));
    ASSERT_FALSE(p.quant_mix.empty());
    EXPECT_EQ(p.quant_mix[0].dtype, "F32");
    // Same vocabulary, same fingerprint: the f16 file of the same tiny model.
    Passport q = make_passport(kFix + "/tiny/qwen2-f16.gguf", false);
    EXPECT_EQ(q.tokenizer_fingerprint, p.tokenizer_fingerprint);
    EXPECT_NE(q.file_sha256, p.file_sha256);
}

TEST(AuditPassport, ProvenanceAndCycloneDx) {
    const std::string tmpl = read_all(kFix + "/chat/templates/meta-llama-Llama-3.1-8B-Instruct.jinja");
    const std::string path = write_provenance_model(tmpl, "apache-2.0");
    Passport p = make_passport(path, false);
    EXPECT_EQ(p.file_sha256, sha256_hex(read_all(path)));
    EXPECT_EQ(p.license.at("license"), "apache-2.0");
    EXPECT_EQ(p.license.at("license.link"), "https://example.org/LICENSE");
    EXPECT_EQ(p.lineage.at("basename"), "Test-Model");
    EXPECT_EQ(p.lineage.at("finetune"), "Instruct");
    ASSERT_EQ(p.base_models.size(), 1u);
    EXPECT_EQ(p.base_models[0].fields.at("repo_url"), "https://example.org/test-model-1b");
    ASSERT_EQ(p.datasets.size(), 2u);
    EXPECT_EQ(p.datasets[1].fields.at("name"), "Example Instructions");
    EXPECT_EQ(p.chat_template_family, "llama-3");
    EXPECT_EQ(p.chat_template_match, "Llama-3.1-Instruct");
    EXPECT_FALSE(has_warning(p, "licence"));
    EXPECT_FALSE(has_warning(p, "lineage"));
    EXPECT_FALSE(has_warning(p, "template"));
    EXPECT_EQ(p.context_length, 2048);

    auto j = passport_json(p);
    EXPECT_EQ(j["file"]["sha256"], p.file_sha256);
    EXPECT_EQ(j["chat_template"]["family"], "llama-3");
    const std::string md = passport_markdown(p);
    EXPECT_NE(md.find("Llama-3.1-Instruct"), std::string::npos);
    EXPECT_NE(md.find("Example Instructions"), std::string::npos);

    auto bom = passport_cyclonedx(p, "2025-01-01T00:00:00Z");
    EXPECT_EQ(bom["bomFormat"], "CycloneDX");
    EXPECT_EQ(bom["specVersion"], "1.6");
    EXPECT_EQ(bom["version"], 1);
    EXPECT_EQ(bom["serialNumber"].get<std::string>().rfind("urn:uuid:", 0), 0u);
    EXPECT_EQ(bom["serialNumber"].get<std::string>().size(), 9u + 36u);
    EXPECT_EQ(bom["metadata"]["timestamp"], "2025-01-01T00:00:00Z");
    ASSERT_EQ(bom["components"].size(), 1u);
    const auto& c = bom["components"][0];
    EXPECT_EQ(c["type"], "machine-learning-model");
    EXPECT_EQ(c["name"], "Test Model 1B Instruct");
    EXPECT_EQ(c["hashes"][0]["alg"], "SHA-256");
    EXPECT_EQ(c["hashes"][0]["content"], p.file_sha256);
    EXPECT_EQ(c["licenses"][0]["license"]["id"], "Apache-2.0");
    EXPECT_EQ(c["modelCard"]["modelParameters"]["architectureFamily"], "llama");
    EXPECT_EQ(c["modelCard"]["modelParameters"]["datasets"].size(), 2u);
    EXPECT_EQ(c["modelCard"]["modelParameters"]["datasets"][0]["type"], "dataset");
    EXPECT_EQ(c["pedigree"]["ancestors"][0]["name"], "Test Model 1B");
    fs::remove(path);
}

TEST(AuditPassport, EditedTemplateAndUnknownLicence) {
    std::string tmpl = read_all(kFix + "/chat/templates/meta-llama-Llama-3.1-8B-Instruct.jinja");
    tmpl += "{# edited #}";
    const std::string path = write_provenance_model(tmpl, "llama3.1");
    Passport p = make_passport(path, false);
    EXPECT_EQ(p.chat_template_family, "llama-3");
    EXPECT_EQ(p.chat_template_match, "");
    EXPECT_TRUE(has_warning(p, "differs from every known llama-3 template"));
    auto bom = passport_cyclonedx(p);
    // A licence that is not an SPDX id is exported by name.
    EXPECT_EQ(bom["components"][0]["licenses"][0]["license"]["name"], "llama3.1");
    EXPECT_FALSE(bom["components"][0]["licenses"][0]["license"].contains("id"));
    fs::remove(path);
}

TEST(AuditPassport, DefaultModel) {
    const char* model = std::getenv("HEARTH_MODEL");
    if (!model || !fs::exists(model)) GTEST_SKIP() << "HEARTH_MODEL not set";
    Passport p = make_passport(model, false);
    EXPECT_EQ(p.file_sha256, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32");
    EXPECT_EQ(p.file_size, 491400064u);
    EXPECT_EQ(p.n_params, 630167424u);
    EXPECT_EQ(p.context_length, 32768);
    EXPECT_EQ(p.chat_template_family, "qwen2.5");
    EXPECT_EQ(p.file_type, "MOSTLY_Q4_K_M");
    EXPECT_TRUE(has_warning(p, "no licence"));
    EXPECT_TRUE(has_warning(p, "unknown lineage"));
}
