#pragma once
// Shared by the Hugging Face importer's parts (hf_import.cpp: config + weights,
// hf_tokenizer.cpp: tokenizer.json): JSON field access with errors naming the file and
// field, and builders of GGUF metadata values.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "format/gguf.h"

namespace hearth::format::hf {

using json = nlohmann::json;
using Metadata = std::map<std::string, GGUFValue>;

// Reads and parses a JSON file; throws hearth::Error("<path>: ...") when unreadable or invalid.
json read_json(const std::filesystem::path& path);

// Typed access to one JSON object; missing and null fields are the same ("absent").
class JsonObject {
public:
    JsonObject(const json& j, std::string file) : j_(j), file_(std::move(file)) {}
    const json* get(const std::string& key) const;  // null when absent or JSON null
    bool has(const std::string& key) const { return get(key) != nullptr; }
    int64_t i(const std::string& key) const;
    int64_t i(const std::string& key, int64_t def) const;
    double f(const std::string& key) const;
    double f(const std::string& key, double def) const;
    bool b(const std::string& key, bool def) const;
    std::string s(const std::string& key, const std::string& def) const;
    [[noreturn]] void fail(const std::string& key, const std::string& what) const;
    const std::string& file() const { return file_; }

private:
    const json& j_;
    std::string file_;
};

GGUFValue u32(uint64_t v);
GGUFValue i32(int64_t v);
GGUFValue f32(double v);
GGUFValue boolean(bool v);
GGUFValue str(std::string v);
GGUFValue str_array(std::vector<std::string> v);
GGUFValue i32_array(const std::vector<int32_t>& v);

// Token types as GGUF numbers them.
constexpr int32_t kTokenNormal = 1, kTokenControl = 3, kTokenUserDefined = 4, kTokenUnused = 5;

// A byte-level BPE vocabulary as read from tokenizer.json or tiktoken.model, padded to n_vocab.
struct ImportedVocab {
    std::vector<std::string> tokens;  // GPT-2 byte characters (BPE) or "▁" pieces (unigram)
    std::vector<int32_t> types;
    std::map<std::string, int32_t> ids;
    std::vector<std::string> merges;  // "left right", best first
    std::string pre;                  // tokenizer.ggml.pre
    std::string pp_bos, pp_eos;       // what a post-processor adds (may be empty)
    std::string model = "gpt2";       // tokenizer.ggml.model; "t5" for unigram
    std::vector<double> scores;       // unigram log-probabilities
    bool add_space_prefix = false;    // unigram: Metaspace prepends "▁"
};

// Writes tokenizer.ggml.* from `v`, with the special tokens and chat template of
// tokenizer_config.json (or chat_template.jinja) and config.json's *_token_id.
void write_vocab(const std::filesystem::path& dir, const JsonObject& config, int64_t n_vocab, ImportedVocab v,
                 Metadata& kv, std::vector<std::filesystem::path>& used);

// Kimi-K2's tiktoken.model (a base64 token and its rank per line; merges recovered from the
// ranks) + the special tokens of tokenizer_config.json's added_tokens_decoder in the ids after
// the ranks; pre-tokenizer "kimi-k2" (tokenization_kimi.py's pattern).
void import_tiktoken(const std::filesystem::path& dir, const JsonObject& config, int64_t n_vocab, Metadata& kv,
                     std::vector<std::filesystem::path>& used);

// A `tokenizers` Unigram model (SentencePiece-converted tokenizer.json): vocab [[piece, score]],
// unk_id, byte_fallback, Metaspace pre-tokenizer; -> tokenizer.ggml.model "t5".
void import_unigram(const std::filesystem::path& dir, const json& tj, const std::filesystem::path& tj_path,
                    const JsonObject& config, int64_t n_vocab, Metadata& kv, std::vector<std::filesystem::path>& used);

// FLOAT64: unigram scores keep the precision of tokenizer.json, since rounding them to float
// changes which of two equal-scoring segmentations wins.
GGUFValue f64_array(const std::vector<double>& v);

// tokenizer.json + tokenizer_config.json (+ config.json's *_token_id) -> tokenizer.ggml.* and
// tokenizer.chat_template. The vocabulary is padded to n_vocab (the embedding rows) with
// unused "[PAD<id>]" tokens, as the GGUF converter does. Appends the files read to `used`.
void import_tokenizer(const std::filesystem::path& dir, const JsonObject& config, int64_t n_vocab, Metadata& kv,
                      std::vector<std::filesystem::path>& used);

}  // namespace hearth::format::hf
