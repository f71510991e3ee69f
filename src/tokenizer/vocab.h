#pragma once
// The tokenizer's inputs as plain data, independent of where they came from (a GGUF file,
// a test fixture). from_gguf.cpp fills it; make_tokenizer() turns it into a Tokenizer.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/string_list.h"
#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

struct VocabData {
    std::string model;  // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
    std::string pre;    // tokenizer.ggml.pre; empty means "default"
    StringList tokens;
    std::vector<double> scores;        // may be empty (BPE); SentencePiece merges by these (unigram: log-probs)
    std::vector<TokenType> types;      // may be empty: every token is Normal then
    StringList merges;                 // "left right", best rank first (BPE only)

    int32_t bos_id = -1, eos_id = -1, eot_id = -1, eom_id = -1, unk_id = -1, pad_id = -1;
    // Unset means "the default of this model/pre", as llama.cpp resolves it.
    std::optional<bool> add_bos, add_eos, add_space_prefix;
};

// Validates `data` (ids in range, sizes consistent, known model/pre) and builds the
// tokenizer. `source` names where the data came from, for error messages.
std::unique_ptr<Tokenizer> make_tokenizer(VocabData data, const std::string& source);

// The tokenizer.ggml.pre values this build understands, comma separated (for messages).
std::string supported_pre_names();

}  // namespace hearth::tokenizer
