#pragma once
// HTML escaping shared by the Jinja `escape` filter and the audit report.
#include <string>
#include <string_view>

namespace hearth {

// How '"' is written: markupsafe (and so jinja2's `escape`) writes "&#34;", HTML pages commonly "&quot;";
// both mean the same to a browser, but template renders must equal jinja2's byte for byte.
enum class QuoteEntity { kNumeric, kNamed };

std::string html_escape(std::string_view s, QuoteEntity quote);

}  // namespace hearth
