#include "tokenizer/base.h"
#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";

// True if s[i..] is the start of a valid multi-byte sequence that is merely cut short.
bool incomplete_tail(std::string_view s, size_t i) {
    auto u = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    uint8_t c = u(i);
    size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len <= s.size()) return false;
    if (c == 0xC0 || c == 0xC1 || c > 0xF4) return false;  // could never complete validly
    for (size_t k = i + 1; k < s.size(); ++k)
        if ((u(k) & 0xC0) != 0x80) return false;
    // The second byte narrows the valid ranges (no overlongs, surrogates, > U+10FFFF).
    if (i + 1 < s.size()) {
        uint8_t d = u(i + 1);
        if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) || (c == 0xF4 && d > 0x8F))
            return false;
    }
    return true;
}

// Moves the complete part of `pending` to the result, invalid bytes as U+FFFD. With
// `final`, an incomplete tail is invalid too.
std::string drain(std::string& pending, bool final) {
    std::string out;
    size_t i = 0;
    while (i < pending.size()) {
        if (!final && incomplete_tail(pending, i)) break;
        uint32_t cp = 0;
        size_t n = utf8_decode(pending, i, cp);
        if (cp == 0xFFFD && n == 1)
            out += kReplacement;
        else
            out.append(pending, i, n);
        i += n;
    }
    pending.erase(0, i);
    return out;
}

}  // namespace

std::string StreamDecoder::push(int32_t id) {
    pending_ += tok_.token_to_piece(id, special_);
    return drain(pending_, false);
}

std::string StreamDecoder::flush() { return drain(pending_, true); }

}  // namespace hearth::tokenizer
