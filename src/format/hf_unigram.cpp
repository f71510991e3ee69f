// A `tokenizers` Unigram tokenizer.json (what SentencePiece unigram models convert to) ->
// tokenizer.ggml.model "t5" with scores, as llama.cpp stores unigram vocabularies.
#include "core/error.h"
#include "format/hf_import_detail.h"

namespace hearth::format::hf {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& p, const std::string& what) { throw Error(p.string() + ": " + what); }

constexpr int32_t kTokenUnknown = 2, kTokenByte = 6;

bool is_byte_piece(const std::string& s) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

// Metaspace with "▁", splitting at each one; returns whether it prepends "▁".
bool metaspace_prefix(const json& pre, const fs::path& file) {
    if (!pre.is_object() || pre.value("type", std::string()) != "Metaspace")
        fail(file, "a Unigram model needs a Metaspace pre_tokenizer (others are not supported)");
    if (pre.value("replacement", std::string("\xe2\x96\x81")) != "\xe2\x96\x81")
        fail(file, "Metaspace replacement other than \"\xe2\x96\x81\" is not supported");
    if (!pre.value("split", true)) fail(file, "Metaspace with split false is not supported");
    if (pre.contains("prepend_scheme")) {
        const std::string scheme = pre.value("prepend_scheme", std::string());
        if (scheme == "always") return true;
        if (scheme == "never") return false;
        fail(file, "Metaspace prepend_scheme \"" + scheme + "\" is not supported (always, never)");
    }
    return pre.value("add_prefix_space", true);
}

}  // namespace

void import_unigram(const fs::path& dir, const json& tj, const fs::path& tj_path, const JsonObject& config,
                    int64_t n_vocab, Metadata& kv, std::vector<fs::path>& used) {
    const json& model = tj["model"];
    if (tj.contains("normalizer") && !tj["normalizer"].is_null())
        fail(tj_path, "normalizer \"" +
                          (tj["normalizer"].is_object() ? tj["normalizer"].value("type", std::string()) : std::string()) +
                          "\" on a Unigram model is not supported (SentencePiece's Precompiled charsmap is not "
                          "implemented); only none");
    if (!model.value("fuse_unk", true)) fail(tj_path, "Unigram with fuse_unk false is not supported");
    ImportedVocab v;
    v.model = "t5";
    v.add_space_prefix = metaspace_prefix(tj.contains("pre_tokenizer") ? tj["pre_tokenizer"] : json(), tj_path);
    const json* vocab = model.contains("vocab") ? &model["vocab"] : nullptr;
    if (!vocab || !vocab->is_array()) fail(tj_path, "model.vocab of a Unigram model must be a list of [piece, score]");
    if (static_cast<int64_t>(vocab->size()) > n_vocab)
        fail(tj_path, "model.vocab has " + std::to_string(vocab->size()) + " pieces, beyond config.json's vocab_size " +
                          std::to_string(n_vocab));
    const bool byte_fallback = model.value("byte_fallback", false);
    const int64_t unk = model.contains("unk_id") && model["unk_id"].is_number_integer() ? model["unk_id"].get<int64_t>() : -1;
    if (unk < 0 || unk >= static_cast<int64_t>(vocab->size())) fail(tj_path, "model.unk_id is missing or out of range");
    v.tokens.resize(static_cast<size_t>(n_vocab));
    v.types.assign(static_cast<size_t>(n_vocab), kTokenUnused);
    v.scores.assign(static_cast<size_t>(n_vocab), 0.0);
    for (size_t i = 0; i < vocab->size(); ++i) {
        const json& e = (*vocab)[i];
        if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
            fail(tj_path, "model.vocab[" + std::to_string(i) + "] is not [piece, score]");
        std::string piece = e[0].get<std::string>();
        v.types[i] = static_cast<int64_t>(i) == unk ? kTokenUnknown
                     : byte_fallback && is_byte_piece(piece) ? kTokenByte
                                                             : kTokenNormal;
        v.scores[i] = e[1].get<double>();
        if (!v.ids.emplace(piece, static_cast<int32_t>(i)).second)
            fail(tj_path, "piece \"" + piece.substr(0, 40) + "\" appears twice in model.vocab");
        v.tokens[i] = std::move(piece);
    }
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
        for (const auto& a : tj["added_tokens"]) {
            if (!a.is_object() || !a.contains("content") || !a["content"].is_string() || !a.contains("id") ||
                !a["id"].is_number_integer() || a["id"].get<int64_t>() < 0 || a["id"].get<int64_t>() >= n_vocab)
                fail(tj_path, "an added_tokens entry lacks content or an id inside the vocabulary");
            const auto id = static_cast<size_t>(a["id"].get<int64_t>());
            if (static_cast<int64_t>(id) == unk) continue;  // stays the unknown token
            v.tokens[id] = a["content"].get<std::string>();
            v.types[id] = a.value("special", false) ? kTokenControl : kTokenUserDefined;
            v.ids[v.tokens[id]] = static_cast<int32_t>(id);
        }
    }
    for (size_t i = 0; i < v.tokens.size(); ++i)
        if (v.types[i] == kTokenUnused) v.tokens[i] = "[PAD" + std::to_string(i) + "]";
    kv["tokenizer.ggml.unknown_token_id"] = u32(static_cast<uint64_t>(unk));
    write_vocab(dir, config, n_vocab, std::move(v), kv, used);
}

}  // namespace hearth::format::hf
