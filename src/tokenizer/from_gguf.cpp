// Reads tokenizer.ggml.* metadata into VocabData; everything else lives in make.cpp.
#include "core/error.h"
#include "format/gguf.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

// Arrays are read element by element (array_size/array_at/array_string) so a file's packed
// vocabulary is never expanded into GGUFValues; its strings are not even copied when the file
// leaves them in its map (strings_of).
const format::GGUFValue* array_of(const format::GGUFFile& f, const std::string& key) {
    const format::GGUFValue* v = f.find(key);
    if (v) v->array_size(f.path() + ": " + key);  // throws unless it is an array
    return v;
}

// An array of strings as a StringList: borrowed from the map when the array lies there packed,
// else copied element by element.
StringList strings_of(const format::GGUFValue& v, const std::string& what) {
    if (auto in_place = v.strings_in_place())
        return StringList::borrow_length_prefixed(std::move(in_place->owner), in_place->base, in_place->count,
                                                  in_place->bytes);
    StringList l;
    const size_t n = v.array_size(what);
    l.reserve(n);
    for (size_t i = 0; i < n; ++i) l.push_back(v.array_string(i, what));
    return l;
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
    if (const auto* cm = array_of(f, "tokenizer.ggml.precompiled_charsmap"); cm && cm->array_size(src) > 0)
        throw Error(src + ": tokenizer.ggml.precompiled_charsmap (a SentencePiece normalizer) is not supported");

    const format::GGUFValue* tokens = array_of(f, "tokenizer.ggml.tokens");
    if (!tokens) throw Error(src + ": tokenizer.ggml.tokens is missing");
    const std::string tokens_what = src + ": tokenizer.ggml.tokens";
    d.tokens = strings_of(*tokens, tokens_what);

    if (const auto* scores = array_of(f, "tokenizer.ggml.scores")) {
        const std::string what = src + ": tokenizer.ggml.scores";
        const size_t n = scores->array_size(what);
        d.scores.reserve(n);
        for (size_t i = 0; i < n; ++i) d.scores.push_back(scores->array_at(i, what).as_float(what));
    }
    if (const auto* types = array_of(f, "tokenizer.ggml.token_type")) {
        const std::string what = src + ": tokenizer.ggml.token_type";
        const size_t n = types->array_size(what);
        d.types.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            int64_t v = types->array_at(i, what).as_int(what);
            d.types.push_back(static_cast<TokenType>(v < 0 || v > 6 ? -1 : v));
        }
    }
    if (const auto* merges = array_of(f, "tokenizer.ggml.merges")) {
        d.merges = strings_of(*merges, src + ": tokenizer.ggml.merges");
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
