#include "core/html_escape.h"

namespace hearth {

std::string html_escape(std::string_view s, QuoteEntity quote) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += quote == QuoteEntity::kNumeric ? "&#34;" : "&quot;"; break;
            case '\'': o += "&#39;"; break;
            default: o += c;
        }
    }
    return o;
}

}  // namespace hearth
