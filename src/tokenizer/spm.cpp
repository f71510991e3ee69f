#include "tokenizer/spm.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <queue>

#include "core/error.h"

namespace hearth::tokenizer {

namespace {
constexpr std::string_view kSpace = "\xe2\x96\x81";  // ▁
}

SpmTokenizer::SpmTokenizer(VocabData data, const std::string& source)
    : TokenizerBase(data, true, false),
      scores_(data.scores.begin(), data.scores.end()),
      unk_(data.unk_id),
      add_space_prefix_(data.add_space_prefix.value_or(true)) {
    if (scores_.size() != tokens_.size())
        throw Error(source + ": tokenizer.ggml.scores has " + std::to_string(scores_.size()) +
                    " entries but there are " + std::to_string(tokens_.size()) +
                    " tokens (a SentencePiece vocabulary needs one score per token)");
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_tokens_[static_cast<size_t>(b)] = find_token(name);
    }
}

void SpmTokenizer::encode_fragment(std::string_view fragment, bool after_special, std::vector<int32_t>& out) const {
    std::string text;
    text.reserve(fragment.size() + 8);
    if (add_space_prefix_ && after_special) text += kSpace;
    for (char c : fragment) {
        if (c == ' ')
            text += kSpace;
        else
            text += c;
    }

    // Symbols start as single UTF-8 characters (invalid bytes stand alone).
    struct Sym {
        uint32_t begin, len;
        int32_t prev, next;
    };
    std::vector<Sym> syms;
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        size_t n = utf8_decode(text, i, cp);
        int32_t k = static_cast<int32_t>(syms.size());
        syms.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(n), k - 1, k + 1});
        i += n;
    }
    if (syms.empty()) return;
    syms.back().next = -1;

    // Best score first; equal scores merge the leftmost pair first.
    struct Cand {
        float score;
        int32_t left, right;
        uint32_t len;
        bool operator<(const Cand& o) const { return score != o.score ? score < o.score : left > o.left; }
    };
    std::priority_queue<Cand> heap;
    auto push = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        const Sym& a = syms[static_cast<size_t>(l)];
        const Sym& b = syms[static_cast<size_t>(r)];
        int32_t id = find_token(std::string_view(text).substr(a.begin, a.len + b.len));
        if (id < 0) return;
        heap.push({scores_[static_cast<size_t>(id)], l, r, a.len + b.len});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) push(i - 1, i);

    while (!heap.empty()) {
        Cand c = heap.top();
        heap.pop();
        Sym& l = syms[static_cast<size_t>(c.left)];
        Sym& r = syms[static_cast<size_t>(c.right)];
        // Stale: one side was merged into something else since this pair was queued.
        if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.len) continue;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = c.left;
        push(l.prev, c.left);
        push(c.left, l.next);
    }

    for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
        const Sym& s = syms[static_cast<size_t>(i)];
        std::string_view piece = std::string_view(text).substr(s.begin, s.len);
        int32_t id = find_token(piece);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        for (char ch : piece) {
            int32_t b = byte_tokens_[static_cast<uint8_t>(ch)];
            if (b >= 0)
                out.push_back(b);
            else if (unk_ >= 0)
                out.push_back(unk_);
        }
    }
}

std::string SpmTokenizer::token_to_piece(int32_t id, bool special) const {
    return sentencepiece_piece(token_text(id), types_[static_cast<size_t>(id)], special);
}

std::string sentencepiece_piece(std::string_view text, TokenType type, bool special) {
    switch (type) {
        case TokenType::Control:
            return special ? std::string(text) : std::string();
        case TokenType::Unknown:
            return "\xe2\x96\x85";  // ▅, what llama.cpp shows for <unk>
        case TokenType::UserDefined:
            return std::string(text);
        case TokenType::Byte:
            if (text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>' &&
                std::isxdigit(static_cast<unsigned char>(text[3])) &&
                std::isxdigit(static_cast<unsigned char>(text[4])))
                return std::string(1, static_cast<char>(std::strtol(std::string(text.substr(3, 2)).c_str(), nullptr, 16)));
            return std::string(text);
        default:
            break;
    }
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, kSpace.size(), kSpace) == 0) {
            out += ' ';
            i += kSpace.size();
        } else {
            out += text[i++];
        }
    }
    return out;
}

}  // namespace hearth::tokenizer
