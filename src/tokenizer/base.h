#pragma once
// What every tokenizer model shares: the vocabulary tables, splitting special tokens out of
// the text, BOS/EOS, end-of-generation ids. BpeTokenizer and SpmTokenizer only encode
// plain-text fragments and turn single tokens back into bytes.
#include <array>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

class TokenizerBase : public Tokenizer {
public:
    // `data` must already be validated (make_tokenizer does that). Takes the tokens, types
    // and names out of it and leaves the rest (merges, scores) to the derived model, so a
    // vocabulary is never held twice while it loads.
    TokenizerBase(VocabData& data, bool default_add_bos, bool default_add_eos);

    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;

    int32_t n_vocab() const override { return static_cast<int32_t>(tokens_.size()); }
    std::string_view token_text(int32_t id) const override;
    TokenType token_type(int32_t id) const override;
    int32_t bos_id() const override { return bos_; }
    int32_t eos_id() const override { return eos_; }
    bool is_eog(int32_t id) const override { return eog_.count(id) != 0; }
    std::string model_name() const override { return model_; }
    std::string pre_name() const override { return pre_; }

    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    int32_t find_token(std::string_view text) const;  // -1 if absent

protected:
    // Appends the tokens of a fragment that holds no special token. `after_special` is true
    // for the first fragment and for fragments right after a special token.
    virtual void encode_fragment(std::string_view text, bool after_special, std::vector<int32_t>& out) const = 0;

    StringList tokens_;
    std::vector<TokenType> types_;

private:
    // text -> id: open addressing over ids (-1 = empty slot), compared against tokens_; 4 bytes
    // a slot, where a node-based map took about 50 bytes a token (7 MB for 150k tokens).
    std::vector<int32_t> index_;
    void build_index();

    struct Special {
        std::string_view text;
        int32_t id;
        bool always;  // user-defined tokens are split out even without parse_special
    };
    // Special tokens by first byte, longest first, so the first hit at a position is the
    // longest match there.
    std::array<std::vector<Special>, 256> specials_;

    std::string model_, pre_;
    int32_t bos_ = -1, eos_ = -1;
    bool add_bos_ = false, add_eos_ = false;
    std::unordered_set<int32_t> eog_;
};

// bytes -> the printable code points byte-level BPE stores them as, and back.
const std::array<std::string, 256>& byte_to_unicode();
// -1 where the code point is not one of the 256.
int byte_from_codepoint(uint32_t cp);
// Decodes one UTF-8 sequence at s[i]; returns its length (1 for an invalid byte, cp=0xFFFD).
size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp);

}  // namespace hearth::tokenizer
