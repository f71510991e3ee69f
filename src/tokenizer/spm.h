#pragma once
// SentencePiece-style BPE (tokenizer.ggml.model "llama"): spaces become "▁", characters
// are merged greedily by the score of the merged piece, and characters the vocabulary
// lacks fall back to <0xNN> byte tokens.
#include <array>

#include "tokenizer/base.h"

namespace hearth::tokenizer {

class SpmTokenizer final : public TokenizerBase {
public:
    SpmTokenizer(VocabData data, const std::string& source);

    std::string token_to_piece(int32_t id, bool special = false) const override;

protected:
    void encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out) const override;
    bool decode_strips_leading_space() const override { return add_space_prefix_; }

private:
    std::vector<float> scores_;
    std::array<int32_t, 256> byte_tokens_{};  // <0xNN>, -1 if missing
    int32_t unk_ = -1;
    bool add_space_prefix_ = true;
};

// A SentencePiece vocabulary entry as text: "▁" as a space, <0xNN> as its byte, control
// tokens only when `special`, <unk> as "▅" (as llama.cpp shows it).
std::string sentencepiece_piece(std::string_view text, TokenType type, bool special);

}  // namespace hearth::tokenizer
