#include "tokenizer/base.h"

#include <algorithm>
#include <functional>

#include "core/error.h"

namespace hearth::tokenizer {

namespace {

// Token texts llama.cpp treats as end of generation whatever the file's special ids say
// (chat turn ends, document ends, and the FIM tokens that end a completion).
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",  // <｜end▁of▁sentence｜> (DeepSeek)
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<reponame>",
    "<|file_sep|>", "<file_sep>",
};

}  // namespace

TokenizerBase::TokenizerBase(VocabData& data, bool default_add_bos, bool default_add_eos)
    : tokens_(std::move(data.tokens)),
      types_(std::move(data.types)),
      model_(std::move(data.model)),
      pre_(std::move(data.pre)),
      bos_(data.bos_id),
      eos_(data.eos_id),
      add_bos_(data.add_bos.value_or(default_add_bos)),
      add_eos_(data.add_eos.value_or(default_add_eos)) {
    tokens_.shrink_to_fit();
    if (types_.empty()) types_.assign(tokens_.size(), TokenType::Normal);
    build_index();
    for (size_t i = 0; i < tokens_.size(); ++i) {
        TokenType t = types_[i];
        if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) &&
            !tokens_[i].empty()) {
            const std::string_view s = tokens_[i];
            specials_[static_cast<uint8_t>(s[0])].push_back(
                {s, static_cast<int32_t>(i), t == TokenType::UserDefined});
        }
    }
    for (auto& list : specials_)
        std::stable_sort(list.begin(), list.end(),
                         [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });

    for (int32_t id : {eos_, data.eot_id, data.eom_id})
        if (id >= 0) eog_.insert(id);
    for (std::string_view t : kEogTexts) {
        const int32_t id = find_token(t);
        if (id >= 0) eog_.insert(id);
    }
}

void TokenizerBase::build_index() {
    size_t cap = 16;
    while (cap < tokens_.size() + tokens_.size() / 2) cap *= 2;  // load factor <= 2/3
    index_.assign(cap, -1);
    const size_t mask = cap - 1;
    for (size_t i = 0; i < tokens_.size(); ++i) {
        size_t h = std::hash<std::string_view>{}(tokens_[i]) & mask;
        // The first id wins when a text repeats, as in a dictionary built in id order.
        while (index_[h] >= 0 && tokens_[static_cast<size_t>(index_[h])] != tokens_[i]) h = (h + 1) & mask;
        if (index_[h] < 0) index_[h] = static_cast<int32_t>(i);
    }
}

std::string_view TokenizerBase::token_text(int32_t id) const {
    if (id < 0 || id >= n_vocab())
        throw Error("token id " + std::to_string(id) + " is out of range (vocabulary has " +
                    std::to_string(n_vocab()) + " tokens)");
    return tokens_[static_cast<size_t>(id)];
}

TokenType TokenizerBase::token_type(int32_t id) const {
    token_text(id);  // range check
    return types_[static_cast<size_t>(id)];
}

int32_t TokenizerBase::find_token(std::string_view text) const {
    const size_t mask = index_.size() - 1;
    for (size_t h = std::hash<std::string_view>{}(text) & mask;; h = (h + 1) & mask) {
        const int32_t id = index_[h];
        if (id < 0 || tokens_[static_cast<size_t>(id)] == text) return id;
    }
}

std::vector<int32_t> TokenizerBase::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special && add_bos_) out.push_back(bos_);

    size_t pos = 0, frag = 0;
    bool after_special = true;
    while (pos < text.size()) {
        const Special* hit = nullptr;
        for (const Special& sp : specials_[static_cast<uint8_t>(text[pos])]) {
            if ((sp.always || parse_special) && text.compare(pos, sp.text.size(), sp.text) == 0) {
                hit = &sp;
                break;
            }
        }
        if (!hit) {
            ++pos;
            continue;
        }
        if (pos > frag) encode_fragment(text.substr(frag, pos - frag), after_special, out);
        out.push_back(hit->id);
        after_special = true;
        pos += hit->text.size();
        frag = pos;
    }
    if (frag < text.size()) encode_fragment(text.substr(frag), after_special, out);

    if (add_special && add_eos_) out.push_back(eos_);
    return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool special) const {
    std::string out;
    for (int32_t id : ids) out += token_to_piece(id, special);
    if (decode_strips_leading_space() && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return out;
}

const std::array<std::string, 256>& byte_to_unicode() {
    // GPT-2's table: printable Latin-1 bytes stand for themselves, the other 68 bytes are
    // moved to U+0100 and up, in byte order, so every byte is a visible character.
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            uint32_t cp = printable ? b : next++;
            std::string s;
            if (cp < 0x80) {
                s += static_cast<char>(cp);
            } else {
                s += static_cast<char>(0xC0 | (cp >> 6));
                s += static_cast<char>(0x80 | (cp & 0x3F));
            }
            t[b] = s;
        }
        return t;
    }();
    return table;
}

int byte_from_codepoint(uint32_t cp) {
    static const std::array<int, 324> table = [] {
        std::array<int, 324> t;
        t.fill(-1);
        const auto& fwd = byte_to_unicode();
        for (int b = 0; b < 256; ++b) {
            uint32_t cp2 = 0;
            utf8_decode(fwd[static_cast<size_t>(b)], 0, cp2);
            t[cp2] = b;
        }
        return t;
    }();
    return cp < table.size() ? table[cp] : -1;
}

size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    uint8_t c = byte(i);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 1) {
        cp = c;
        return 1;
    }
    cp = 0xFFFD;
    if (len == 0 || i + len > s.size()) return 1;
    uint32_t v = c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 1;
        v = (v << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < kMin[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 1;
    cp = v;
    return len;
}

}  // namespace hearth::tokenizer
