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

    struct Merge {
        int32_t rank;
        int32_t result;
    };
    static uint64_t pair_key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    // (left, right) -> merge, open addressing with linear probing: 16 bytes a slot where a
    // node-based map took about 40 bytes a merge. rank < 0 marks an empty slot.
    struct MergeSlot {
        uint64_t key;
        Merge m;
    };
    std::vector<MergeSlot> merges_;
    int merge_shift_ = 64;
    size_t merge_slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> merge_shift_); }
    const Merge* find_merge(uint64_t key) const;
    std::array<int32_t, 256> byte_token_{};  // token of each byte's character, -1 if none
    PreTokenizer pre_tok_;
    bool ignore_merges_;
};

}  // namespace hearth::tokenizer
