#pragma once
// A model passport: what a GGUF file is and where it claims to come from, without running it.
//
//   auto p = hearth::audit::make_passport("model.gguf");
//   std::string md = hearth::audit::passport_markdown(p);
//
// Tokenizer fingerprint (canonical form, version 1). SHA-256 over the byte string
//   "hearth-tokenizer-v1\n"
//   section("tokens",     tokenizer.ggml.tokens)      each item: u64 LE byte length, then the bytes
//   section("merges",     tokenizer.ggml.merges)      each item: as tokens
//   section("token_type", tokenizer.ggml.token_type)  each item: i32 LE
// where section(name, array) is: the name's bytes, '\n', u64 LE item count (0 when the
// key is absent), then the items. The tokenizer model and pre-tokenizer names are reported
// beside it but are not part of the hash, so a renamed pre-tokenizer with the same vocabulary
// keeps its fingerprint.
//
// Chat-template hash: SHA-256 of tokenizer.chat_template's exact UTF-8 bytes, matched against
// audit/known_templates.h.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::format {
class GGUFFile;
}

namespace hearth::audit {

struct QuantShare {
    std::string dtype;
    uint64_t tensors = 0;
    uint64_t params = 0;
    uint64_t bytes = 0;
};

struct Passport {
    std::string path;
    std::string file_sha256;
    uint64_t file_size = 0;
    uint32_t gguf_version = 0;   // 0 when the model was not read from a GGUF file
    std::string source_format;   // "GGUF v3", "Hugging Face directory (safetensors, 2 shards)"
    std::string name;            // general.name
    std::string architecture;    // general.architecture
    std::string family;          // hearth's family label for it ("" when hearth does not support it)
    bool supported = false;
    uint64_t n_params = 0;
    uint64_t n_active_params = 0;  // == n_params for dense models; 0 when unknown
    bool moe = false;
    std::vector<QuantShare> quant_mix;  // by dtype, most bytes first
    std::string file_type;              // general.file_type as a name when known
    int64_t context_length = 0;
    // tokenizer
    std::string tokenizer_model, tokenizer_pre;
    uint64_t vocab_size = 0, n_merges = 0;
    std::string tokenizer_fingerprint;
    // chat template
    bool has_chat_template = false;
    std::string chat_template_sha256;
    std::string chat_template_family;  // from the known table, else a guess from markers
    std::string chat_template_match;   // known model whose template is byte-identical, or ""
    std::vector<std::string> named_templates;  // tokenizer.chat_template.<name>
    // provenance
    std::map<std::string, std::string> license;  // general.license, general.license.name, .link
    std::map<std::string, std::string> lineage;  // general.basename, finetune, organization, source.*, ...
    struct Ancestor {
        std::map<std::string, std::string> fields;  // name, organization, repo_url, version, ...
    };
    std::vector<Ancestor> base_models;
    std::vector<Ancestor> datasets;
    std::vector<std::string> warnings;
};

// Reads the file (hashing it with a progress bar when `progress`). Throws hearth::Error
// naming the file when it is not a readable GGUF.
Passport make_passport(const std::string& path, bool progress = true);
// The same from an already opened file, with a hash computed by the caller.
Passport make_passport(const format::GGUFFile& f, const std::string& file_sha256);

std::string tokenizer_fingerprint(const format::GGUFFile& f);

nlohmann::ordered_json passport_json(const Passport& p);
std::string passport_markdown(const Passport& p);
// CycloneDX 1.6 ML-BOM (one component of type machine-learning-model). `timestamp` is
// ISO-8601 UTC; empty means now.
nlohmann::ordered_json passport_cyclonedx(const Passport& p, const std::string& timestamp = "");

}  // namespace hearth::audit
