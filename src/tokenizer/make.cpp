// Validation of VocabData and the choice of tokenizer model.
#include "core/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/spm.h"
#include "tokenizer/ugm.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

std::string supported_pre_names() { return pre_names(); }

std::unique_ptr<Tokenizer> make_tokenizer(VocabData data, const std::string& source) {
    const size_t n = data.tokens.size();
    if (n == 0) throw Error(source + ": tokenizer.ggml.tokens is empty");
    if (n > static_cast<size_t>(INT32_MAX)) throw Error(source + ": tokenizer.ggml.tokens is too large");
    if (!data.types.empty() && data.types.size() != n)
        throw Error(source + ": tokenizer.ggml.token_type has " + std::to_string(data.types.size()) +
                    " entries but tokenizer.ggml.tokens has " + std::to_string(n));
    if (!data.scores.empty() && data.scores.size() != n)
        throw Error(source + ": tokenizer.ggml.scores has " + std::to_string(data.scores.size()) +
                    " entries but tokenizer.ggml.tokens has " + std::to_string(n));
    for (TokenType t : data.types)
        if (static_cast<int32_t>(t) < 0 || static_cast<int32_t>(t) > 6)
            throw Error(source + ": tokenizer.ggml.token_type holds unknown type " +
                        std::to_string(static_cast<int32_t>(t)) + " (expected 0..6)");
    auto check_id = [&](int32_t& id, const char* key, bool drop) {
        if (id < -1 || id >= static_cast<int64_t>(n)) {
            // llama.cpp ignores a bad optional id; a bad BOS/EOS would corrupt every prompt.
            if (drop) {
                id = -1;
                return;
            }
            throw Error(source + ": tokenizer.ggml." + key + " = " + std::to_string(id) +
                        " is outside the vocabulary of " + std::to_string(n) + " tokens");
        }
    };
    check_id(data.bos_id, "bos_token_id", false);
    check_id(data.eos_id, "eos_token_id", false);
    check_id(data.eot_id, "eot_token_id", true);
    check_id(data.eom_id, "eom_token_id", true);
    check_id(data.unk_id, "unknown_token_id", true);
    check_id(data.pad_id, "padding_token_id", true);

    std::unique_ptr<TokenizerBase> tok;
    if (data.model == "gpt2") {
        std::optional<PreConfig> pre = pre_config(data.pre);
        if (!pre)
            throw Error(source + ": unsupported tokenizer.ggml.pre \"" + data.pre + "\" (supported: " +
                        pre_names() + ")");
        if (data.pre.empty()) data.pre = "default";
        tok = std::make_unique<BpeTokenizer>(std::move(data), *pre, source);
    } else if (data.model == "llama") {
        tok = std::make_unique<SpmTokenizer>(std::move(data), source);
    } else if (data.model == "t5") {
        tok = std::make_unique<UgmTokenizer>(std::move(data), source);
    } else {
        throw Error(source + ": unsupported tokenizer.ggml.model \"" + data.model +
                    "\" (supported: gpt2 (byte-level BPE), llama (SentencePiece), t5 (unigram))");
    }
    if (tok->add_bos() && tok->bos_id() < 0)
        throw Error(source + ": the tokenizer adds a BOS token but tokenizer.ggml.bos_token_id is missing");
    if (tok->add_eos() && tok->eos_id() < 0)
        throw Error(source + ": the tokenizer adds an EOS token but tokenizer.ggml.eos_token_id is missing");
    return tok;
}

}  // namespace hearth::tokenizer
