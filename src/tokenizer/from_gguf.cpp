// Reads tokenizer.ggml.* metadata into VocabData; everything else lives in make.cpp.
#include "core/error.h"
#include "format/gguf.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

const format::GGUFArray* array_of(const format::GGUFFile& f, const std::string& key) {
    const format::GGUFValue* v = f.find(key);
    return v ? &v->as_array(f.path() + ": " + key) : nullptr;
}

int32_t id_of(const format::GGUFFile& f, const std::string& key) {
    const format::GGUFValue* v = f.find(key);
    if (!v) return -1;
    int64_t id = v->as_int(f.path() + ": " + key);
    return id < INT32_MIN || id > INT32_MAX ? INT32_MIN : static_cast<int32_t>(id);
}

std::optional<bool> flag(const format::GGUFFile& f, const std::string& key) {
    const format::GGUFValue* v = f.find(key);
    if (!v) return std::nullopt;
    return v->as_bool(f.path() + ": " + key);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const format::GGUFFile& f) {
    const std::string& src = f.path();
    VocabData d;
    if (!f.has("tokenizer.ggml.model")) throw Error(src + ": no tokenizer (tokenizer.ggml.model is missing)");
    d.model = f.get_string("tokenizer.ggml.model");
    d.pre = f.get_string("tokenizer.ggml.pre", "");
    // llama.cpp's unigram (T5) files normalize text with SentencePiece's compiled charsmap,
    // which hearth does not implement: refuse rather than tokenize differently.
    if (const auto* cm = array_of(f, "tokenizer.ggml.precompiled_charsmap"); cm && !cm->empty())
        throw Error(src + ": tokenizer.ggml.precompiled_charsmap (a SentencePiece normalizer) is not supported");

    const format::GGUFArray* tokens = array_of(f, "tokenizer.ggml.tokens");
    if (!tokens) throw Error(src + ": tokenizer.ggml.tokens is missing");
    d.tokens.reserve(tokens->size());
    for (size_t i = 0; i < tokens->size(); ++i)
        d.tokens.push_back((*tokens)[i].as_string(src + ": tokenizer.ggml.tokens[" + std::to_string(i) + "]"));

    if (const auto* scores = array_of(f, "tokenizer.ggml.scores")) {
        d.scores.reserve(scores->size());
        for (const auto& s : *scores) d.scores.push_back(s.as_float(src + ": tokenizer.ggml.scores"));
    }
    if (const auto* types = array_of(f, "tokenizer.ggml.token_type")) {
        d.types.reserve(types->size());
        for (const auto& t : *types) {
            int64_t v = t.as_int(src + ": tokenizer.ggml.token_type");
            d.types.push_back(static_cast<TokenType>(v < 0 || v > 6 ? -1 : v));
        }
    }
    if (const auto* merges = array_of(f, "tokenizer.ggml.merges")) {
        d.merges.reserve(merges->size());
        for (const auto& m : *merges) d.merges.push_back(m.as_string(src + ": tokenizer.ggml.merges"));
    }

    d.bos_id = id_of(f, "tokenizer.ggml.bos_token_id");
    d.eos_id = id_of(f, "tokenizer.ggml.eos_token_id");
    d.eot_id = id_of(f, "tokenizer.ggml.eot_token_id");
    d.eom_id = id_of(f, "tokenizer.ggml.eom_token_id");
    d.unk_id = id_of(f, "tokenizer.ggml.unknown_token_id");
    d.pad_id = id_of(f, "tokenizer.ggml.padding_token_id");
    d.add_bos = flag(f, "tokenizer.ggml.add_bos_token");
    d.add_eos = flag(f, "tokenizer.ggml.add_eos_token");
    d.add_space_prefix = flag(f, "tokenizer.ggml.add_space_prefix");
    return make_tokenizer(std::move(d), src);
}

}  // namespace hearth::tokenizer
