#include "tokenizer/ugm.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "core/error.h"
#include "tokenizer/spm.h"

namespace hearth::tokenizer {

namespace {
constexpr std::string_view kSpace = "\xe2\x96\x81";  // ▁
// What the `tokenizers` library (and SentencePiece) charge for an unknown character below
// the worst piece's score.
constexpr double kUnkPenalty = 10.0;
}  // namespace

UgmTokenizer::UgmTokenizer(VocabData data, const std::string& source)
    : TokenizerBase(data, false, false),
      unk_(data.unk_id),
      add_space_prefix_(data.add_space_prefix.value_or(true)) {
    if (data.scores.size() != tokens_.size())
        throw Error(source + ": tokenizer.ggml.scores has " + std::to_string(data.scores.size()) +
                    " entries but there are " + std::to_string(tokens_.size()) +
                    " tokens (a unigram vocabulary needs one score per token)");
    if (unk_ < 0) throw Error(source + ": a unigram vocabulary needs tokenizer.ggml.unknown_token_id");
    scores_.assign(data.scores.begin(), data.scores.end());
    double min_score = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (types_[i] == TokenType::Unused) continue;
        min_score = std::min(min_score, scores_[i]);
        max_piece_bytes_ = std::max(max_piece_bytes_, tokens_[i].size());
    }
    unk_score_ = min_score - kUnkPenalty;
    byte_fallback_ = true;
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_tokens_[static_cast<size_t>(b)] = find_token(name);
        byte_fallback_ = byte_fallback_ && byte_tokens_[static_cast<size_t>(b)] >= 0;
    }
}

void UgmTokenizer::encode_fragment(std::string_view fragment, bool after_special, std::vector<int32_t>& out) const {
    std::string text;
    text.reserve(fragment.size() + 8);
    for (char c : fragment) {
        if (c == ' ')
            text += kSpace;
        else
            text += c;
    }
    // Metaspace's prefix: only where the fragment does not already start with one.
    if (add_space_prefix_ && after_special && text.compare(0, kSpace.size(), kSpace) != 0)
        text.insert(0, kSpace);
    // Each piece starts at a "▁" (the text before the first one is a piece of its own).
    size_t start = 0;
    for (size_t i = 1; i + kSpace.size() <= text.size(); ++i) {
        if (text.compare(i, kSpace.size(), kSpace) != 0) continue;
        if (i > start) encode_piece(std::string_view(text).substr(start, i - start), out);
        start = i;
        i += kSpace.size() - 1;
    }
    if (start < text.size()) encode_piece(std::string_view(text).substr(start), out);
}

// Viterbi over character positions. Ties keep the segmentation found first (earlier start),
// as the reference's forward pass does.
void UgmTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
    struct Best {
        double score = -std::numeric_limits<double>::infinity();
        size_t start = 0;
        int32_t id = -2;  // -2 unreached, -1 unknown character
    };
    std::vector<Best> best(piece.size() + 1);
    best[0].score = 0.0;
    best[0].id = -1;
    for (size_t s = 0; s < piece.size();) {
        uint32_t cp = 0;
        const size_t clen = utf8_decode(piece, s, cp);
        if (best[s].id == -2) {  // unreachable (inside a character): cannot happen, but be safe
            s += clen;
            continue;
        }
        bool single = false;
        const size_t limit = std::min(piece.size() - s, max_piece_bytes_);
        for (size_t len = 1; len <= limit; ++len) {
            const int32_t id = find_token(piece.substr(s, len));
            if (id < 0 || types_[static_cast<size_t>(id)] == TokenType::Unused) continue;
            if (len == clen) single = true;
            const double sc = best[s].score + scores_[static_cast<size_t>(id)];
            Best& b = best[s + len];
            if (b.id == -2 || sc > b.score) b = {sc, s, id};
        }
        if (!single) {
            const double sc = best[s].score + unk_score_;
            Best& b = best[s + clen];
            if (b.id == -2 || sc > b.score) b = {sc, s, -1};
        }
        s += clen;
    }
    // Back from the end: ids, with each run of unknown characters kept as one span.
    std::vector<std::pair<size_t, int32_t>> path;  // (start, id) in reverse
    for (size_t e = piece.size(); e > 0;) {
        const Best& b = best[e];
        if (b.id == -1 && !path.empty() && path.back().second == -1) {
            path.back().first = b.start;  // fuse with the unknown span after it
        } else {
            path.push_back({b.start, b.id});
        }
        e = b.start;
    }
    size_t end = piece.size();
    std::vector<int32_t> ids;
    for (const auto& [start, id] : path) {
        if (id >= 0) {
            ids.push_back(id);
        } else if (id == -2) {
            throw Error("unigram tokenizer: a position of the text was not reached");  // cannot happen
        } else if (byte_fallback_) {
            for (size_t i = end; i-- > start;) ids.push_back(byte_tokens_[static_cast<uint8_t>(piece[i])]);
        } else {
            ids.push_back(unk_);
        }
        end = start;
    }
    out.insert(out.end(), ids.rbegin(), ids.rend());
}

std::string UgmTokenizer::token_to_piece(int32_t id, bool special) const {
    return sentencepiece_piece(token_text(id), types_[static_cast<size_t>(id)], special);
}

}  // namespace hearth::tokenizer
