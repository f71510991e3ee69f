#pragma once
// Unigram language-model tokenization (tokenizer.ggml.model "t5"; SentencePiece's unigram
// models, a `tokenizers` Unigram tokenizer.json): spaces become "▁", the text splits before
// each "▁" (Metaspace), and each piece takes the segmentation with the highest total score
// (Viterbi). A character no piece covers is <unk> (consecutive ones fused into one), or its
// <0xNN> byte tokens when the vocabulary has all of them.
#include <array>

#include "tokenizer/base.h"

namespace hearth::tokenizer {

class UgmTokenizer final : public TokenizerBase {
public:
    UgmTokenizer(VocabData data, const std::string& source);

    std::string token_to_piece(int32_t id, bool special = false) const override;

protected:
    void encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out) const override;
    bool decode_strips_leading_space() const override { return add_space_prefix_; }

private:
    void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

    std::vector<double> scores_;
    double unk_score_ = 0.0;
    size_t max_piece_bytes_ = 0;
    std::array<int32_t, 256> byte_tokens_{};  // <0xNN>, -1 if missing
    bool byte_fallback_ = false;              // every <0xNN> exists
    int32_t unk_ = -1;
    bool add_space_prefix_ = true;
};

}  // namespace hearth::tokenizer
