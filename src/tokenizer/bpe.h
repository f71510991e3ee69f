#pragma once
// Byte-level BPE (tokenizer.ggml.model "gpt2"): regex pre-tokenization, bytes mapped to
// printable characters, then merges applied by rank as in the `tokenizers` library.
#include <array>
#include <cstdint>
#include <vector>

#include "tokenizer/base.h"
#include "tokenizer/pretokenize.h"

namespace hearth::tokenizer {

class BpeTokenizer final : public TokenizerBase {
public:
    // Throws hearth::Error (naming `source`) for a malformed merge.
    BpeTokenizer(VocabData data, const PreConfig& pre, const std::string& source);

    std::string token_to_piece(int32_t id, bool special = false) const override;

protected:
    void encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out) const override;

private:
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    // (left, right) -> merge. The merges are grouped by left token (compressed sparse rows: the
    // merges whose left part is token a are merges_[merge_begin_[a] .. merge_begin_[a + 1])),
    // and an open-addressing table of 4-byte indexes into them finds a pair in about one probe
    // (an index belongs to left's group, so the group bounds confirm the left token). 3.4 MB
    // for Qwen2.5's 151k merges where 16-byte (key, rank, result) slots took 4.2 MB; a binary
    // search within the group without the table took 2.4 MB but encoded 30% slower.
    struct Merge {
        int32_t right;
        int32_t rank;
        int32_t result;
    };
    std::vector<uint32_t> merge_begin_;
    std::vector<Merge> merges_;
    std::vector<int32_t> merge_index_;  // -1: empty slot
    int merge_shift_ = 64;
    size_t merge_slot(int32_t left, int32_t right) const {
        const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
        return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> merge_shift_);
    }
    const Merge* find_merge(int32_t left, int32_t right) const;
    std::array<int32_t, 256> byte_token_{};  // token of each byte's character, -1 if none
    PreTokenizer pre_tok_;
    bool ignore_merges_;
};

}  // namespace hearth::tokenizer
