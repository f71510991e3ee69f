#include "chat/output_parser.h"

#include <algorithm>
#include <cstdio>

namespace hearth::chat {

namespace {

using json = nlohmann::ordered_json;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && is_space(s[a])) ++a;
    while (b > a && is_space(s[b - 1])) --b;
    return std::string(s.substr(a, b - a));
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Length of the longest suffix of s that is a proper prefix of one of the markers.
size_t partial_suffix(std::string_view s, const std::vector<std::string>& markers) {
    size_t best = 0;
    for (const auto& m : markers) {
        size_t n = std::min(s.size(), m.size() - 1);
        for (size_t k = n; k > best; --k)
            if (s.substr(s.size() - k) == std::string_view(m).substr(0, k)) {
                best = k;
                break;
            }
    }
    return best;
}

// Earliest occurrence of any marker: (position, marker index), npos when none.
std::pair<size_t, size_t> find_first(std::string_view s, const std::vector<std::string>& markers) {
    size_t at = std::string::npos, which = 0;
    for (size_t i = 0; i < markers.size(); ++i) {
        size_t p = s.find(markers[i]);
        if (p < at) {
            at = p;
            which = i;
        }
    }
    return {at, which};
}

std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
    std::string out;
    size_t pos = 0;
    while (true) {
        size_t p = s.find(from, pos);
        if (p == std::string::npos) break;
        out.append(s, pos, p - pos);
        out.append(to);
        pos = p + from.size();
    }
    out.append(s, pos, std::string::npos);
    return out;
}

std::string make_id(size_t index, const std::string& name, const std::string& args) {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](std::string_view s) {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ull;
        }
    };
    mix(std::to_string(index));
    mix(name);
    mix(args);
    char buf[32];
    std::snprintf(buf, sizeof buf, "call_%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// The end of the JSON value that starts at s[i] (valid JSON assumed): one past its last byte.
size_t value_end(std::string_view s, size_t i) {
    int depth = 0;
    bool in_str = false;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (in_str) {
            if (c == '\\') ++i;
            else if (c == '"') {
                in_str = false;
                if (depth == 0) return i + 1;
            }
        } else if (c == '"') in_str = true;
        else if (c == '{' || c == '[') ++depth;
        else if (c == '}' || c == ']') {
            if (depth == 0) return i;  // a scalar that ended at its container's close
            if (--depth == 0) return i + 1;
        } else if (depth == 0 && (c == ',' || is_space(c))) return i;
    }
    return s.size();
}

// The text of member `key`'s value in the JSON object text `obj` (valid JSON), or "" when absent.
std::string_view member_text(std::string_view obj, std::string_view key) {
    size_t i = obj.find('{');
    if (i == std::string_view::npos) return {};
    ++i;
    while (i < obj.size()) {
        while (i < obj.size() && (is_space(obj[i]) || obj[i] == ',')) ++i;
        if (i >= obj.size() || obj[i] != '"') return {};
        const size_t k_end = value_end(obj, i);
        const auto k = json::parse(obj.substr(i, k_end - i), nullptr, false);
        i = k_end;
        while (i < obj.size() && (is_space(obj[i]) || obj[i] == ':')) ++i;
        const size_t v_end = value_end(obj, i);
        if (k.is_string() && k.get<std::string>() == key) return obj.substr(i, v_end - i);
        i = v_end;
    }
    return {};
}

// A JSON text as written, less the whitespace between its tokens, when it parses; else the
// text as written (trimmed). Not re-serialised, so numbers and escapes keep the model's
// spelling and the server can stream arguments as they are written (chat/tool_call_stream.h).
std::string normalize_args(std::string_view raw) {
    std::string t = trim(raw);
    auto j = json::parse(t, nullptr, false);
    if (j.is_discarded()) return t;
    return minify_json(t);
}

// The type the tool list declares for a parameter ("" when unknown).
std::string param_type(const json& tools, const std::string& fn, const std::string& key) {
    if (!tools.is_array()) return "";
    for (const auto& t : tools) {
        const json& f = t.contains("function") ? t["function"] : t;
        if (!f.is_object() || f.value("name", "") != fn) continue;
        if (!f.contains("parameters") || !f["parameters"].contains("properties")) return "";
        const json& props = f["parameters"]["properties"];
        if (!props.contains(key) || !props[key].is_object()) return "";
        const json& ty = props[key].value("type", json());
        return ty.is_string() ? ty.get<std::string>() : "";
    }
    return "";
}

// Appends text that is not a call to `rest`, separating pieces with a newline.
void add_rest(std::string& rest, std::string_view piece) {
    std::string t = trim(piece);
    if (t.empty()) return;
    if (!rest.empty()) rest += "\n";
    rest += t;
}

// Generic "<open>body<close>" scanner: calls fn(body) for each block; unterminated blocks
// run to the end of the text.
template <typename F>
void scan_blocks(const std::string& text, std::string_view open, std::string_view close, std::string& rest, F fn) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t a = text.find(open, pos);
        if (a == std::string::npos) {
            add_rest(rest, std::string_view(text).substr(pos));
            return;
        }
        add_rest(rest, std::string_view(text).substr(pos, a - pos));
        size_t body = a + open.size();
        size_t b = text.find(close, body);
        size_t end = b == std::string::npos ? text.size() : b;
        if (!fn(std::string_view(text).substr(body, end - body))) add_rest(rest, std::string_view(text).substr(a, end - a));
        pos = b == std::string::npos ? text.size() : b + close.size();
    }
}

// j: the call object parsed from `text`, whose own spelling of the arguments is kept.
bool call_from_json(const json& j, std::string_view text, std::vector<ToolCall>& calls) {
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
    ToolCall c;
    c.name = j["name"].get<std::string>();
    const char* key = j.contains("arguments") ? "arguments" : j.contains("parameters") ? "parameters" : nullptr;
    if (!key) c.arguments = "{}";
    else if (j[key].is_string()) c.arguments = normalize_args(j[key].get<std::string>());
    else c.arguments = normalize_args(member_text(text, key));
    calls.push_back(std::move(c));
    return true;
}

void parse_hermes(const std::string& text, std::string& rest, std::vector<ToolCall>& calls) {
    scan_blocks(text, "<tool_call>", "</tool_call>", rest, [&](std::string_view body) {
        auto j = json::parse(trim(body), nullptr, false);
        return !j.is_discarded() && call_from_json(j, body, calls);
    });
}

void parse_deepseek(const std::string& text, std::string& rest, std::vector<ToolCall>& calls) {
    std::string t = replace_all(replace_all(text, "<｜tool▁calls▁begin｜>", "\n"), "<｜tool▁calls▁end｜>", "\n");
    scan_blocks(t, "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", rest, [&](std::string_view body) {
        static constexpr std::string_view sep = "<｜tool▁sep｜>";
        size_t s = body.find(sep);
        if (s == std::string_view::npos) return false;
        std::string left = trim(body.substr(0, s));
        std::string_view right = body.substr(s + sep.size());
        ToolCall c;
        size_t fence = right.find("```json");
        if (fence != std::string_view::npos) {  // V3 / R1: type<sep>name\n```json\n{..}\n```
            c.name = trim(right.substr(0, fence));
            std::string_view args = right.substr(fence + 7);
            size_t close = args.rfind("```");
            if (close != std::string_view::npos) args = args.substr(0, close);
            c.arguments = normalize_args(args);
        } else {  // V3.1: name<sep>{..}
            c.name = left;
            c.arguments = normalize_args(right);
        }
        if (c.name.empty()) return false;
        calls.push_back(std::move(c));
        return true;
    });
}

void parse_glm(const std::string& text, std::string& rest, std::vector<ToolCall>& calls, const json& tools) {
    scan_blocks(text, "<tool_call>", "</tool_call>", rest, [&](std::string_view body) {
        size_t k = body.find("<arg_key>");
        std::string name = trim(body.substr(0, std::min(body.find('\n'), k)));
        if (name.empty()) return false;
        // Some GLM outputs put a JSON object right after the name instead of key/value pairs.
        if (k == std::string_view::npos) {
            std::string after = trim(body.substr(std::min(body.size(), body.find('\n'))));
            ToolCall c;
            c.name = name;
            c.arguments = after.empty() ? "{}" : normalize_args(after);
            calls.push_back(std::move(c));
            return true;
        }
        json args = json::object();
        size_t pos = k;
        while ((pos = body.find("<arg_key>", pos)) != std::string_view::npos) {
            size_t ke = body.find("</arg_key>", pos);
            if (ke == std::string_view::npos) return false;
            std::string key = trim(body.substr(pos + 9, ke - pos - 9));
            size_t vs = body.find("<arg_value>", ke);
            if (vs == std::string_view::npos) return false;
            vs += 11;
            size_t ve = body.find("</arg_value>", vs);
            std::string_view raw = body.substr(vs, (ve == std::string_view::npos ? body.size() : ve) - vs);
            std::string ty = param_type(tools, name, key);
            if (ty == "string") {
                args[key] = std::string(raw);
            } else {
                auto v = json::parse(trim(raw), nullptr, false);
                if (v.is_discarded()) args[key] = std::string(raw);
                else args[key] = v;
            }
            pos = ve == std::string_view::npos ? body.size() : ve + 12;
        }
        ToolCall c;
        c.name = name;
        c.arguments = args.dump(-1, ' ', false, json::error_handler_t::replace);
        calls.push_back(std::move(c));
        return true;
    });
}

void parse_kimi(const std::string& text, std::string& rest, std::vector<ToolCall>& calls) {
    std::string t = replace_all(replace_all(text, "<|tool_calls_section_begin|>", "\n"), "<|tool_calls_section_end|>", "\n");
    scan_blocks(t, "<|tool_call_begin|>", "<|tool_call_end|>", rest, [&](std::string_view body) {
        static constexpr std::string_view sep = "<|tool_call_argument_begin|>";
        size_t s = body.find(sep);
        if (s == std::string_view::npos) return false;
        ToolCall c;
        c.id = trim(body.substr(0, s));
        std::string n = c.id;
        if (starts_with(n, "functions.")) n = n.substr(10);
        size_t colon = n.rfind(':');
        if (colon != std::string::npos) n = n.substr(0, colon);
        c.name = n;
        c.arguments = normalize_args(body.substr(s + sep.size()));
        if (c.name.empty()) return false;
        calls.push_back(std::move(c));
        return true;
    });
}

// Llama 3.x built-in tools: name.call(key="value", n=3)
bool parse_python_call(std::string_view s, std::vector<ToolCall>& calls) {
    size_t dot = s.find(".call(");
    if (dot == std::string_view::npos || s.empty() || s.back() != ')') return false;
    ToolCall c;
    c.name = trim(s.substr(0, dot));
    std::string_view inner = s.substr(dot + 6, s.size() - dot - 7);
    json args = json::object();
    size_t i = 0;
    while (i < inner.size()) {
        while (i < inner.size() && (is_space(inner[i]) || inner[i] == ',')) ++i;
        if (i >= inner.size()) break;
        size_t eq = inner.find('=', i);
        if (eq == std::string_view::npos) return false;
        std::string key = trim(inner.substr(i, eq - i));
        size_t v = eq + 1;
        while (v < inner.size() && is_space(inner[v])) ++v;
        size_t e = v;
        if (v < inner.size() && (inner[v] == '"' || inner[v] == '\'')) {
            char q = inner[v];
            std::string val;
            for (e = v + 1; e < inner.size() && inner[e] != q; ++e) {
                if (inner[e] == '\\' && e + 1 < inner.size()) ++e;
                val += inner[e];
            }
            args[key] = val;
            ++e;
        } else {
            while (e < inner.size() && inner[e] != ',') ++e;
            std::string raw = trim(inner.substr(v, e - v));
            if (raw == "True") args[key] = true;
            else if (raw == "False") args[key] = false;
            else if (raw == "None") args[key] = nullptr;
            else {
                auto j = json::parse(raw, nullptr, false);
                if (j.is_discarded()) args[key] = raw;
                else args[key] = j;
            }
        }
        i = e;
    }
    c.arguments = args.dump(-1, ' ', false, json::error_handler_t::replace);
    calls.push_back(std::move(c));
    return true;
}

void parse_llama3(const std::string& text, std::string& rest, std::vector<ToolCall>& calls) {
    std::string t = trim(text);
    if (starts_with(t, "<|python_tag|>")) t = trim(std::string_view(t).substr(14));
    if (t.empty()) return;
    if (t[0] != '{') {
        if (!parse_python_call(t, calls)) rest = t;
        return;
    }
    // One JSON object, or several separated by ';' (Llama 3.2 writes that for parallel calls).
    size_t pos = 0;
    std::vector<ToolCall> found;
    while (pos < t.size()) {
        while (pos < t.size() && (is_space(t[pos]) || t[pos] == ';')) ++pos;
        if (pos >= t.size()) break;
        // Find the end of the object by depth counting outside strings.
        int depth = 0;
        bool in_str = false;
        size_t e = pos;
        for (; e < t.size(); ++e) {
            char ch = t[e];
            if (in_str) {
                if (ch == '\\') ++e;
                else if (ch == '"') in_str = false;
            } else if (ch == '"') in_str = true;
            else if (ch == '{' || ch == '[') ++depth;
            else if (ch == '}' || ch == ']') {
                if (--depth == 0) break;
            }
        }
        if (e >= t.size()) break;
        const std::string_view obj = std::string_view(t).substr(pos, e + 1 - pos);
        auto j = json::parse(obj, nullptr, false);
        if (j.is_discarded() || !call_from_json(j, obj, found)) break;
        pos = e + 1;
    }
    if (pos < t.size() || found.empty()) {
        rest = t;  // not (only) calls: the whole text is the answer
        return;
    }
    for (auto& c : found) calls.push_back(std::move(c));
}

std::vector<std::string> tool_markers(OutputFormat f) {
    switch (f) {
    case OutputFormat::Hermes: return {"<tool_call>"};
    case OutputFormat::GLM: return {"<tool_call>"};
    case OutputFormat::DeepSeek: return {"<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>"};
    case OutputFormat::Kimi: return {"<|tool_calls_section_begin|>", "<|tool_call_begin|>"};
    case OutputFormat::Llama3: return {"<|python_tag|>"};
    }
    return {};
}

std::vector<std::pair<std::string, std::string>> reasoning_tags(OutputFormat f) {
    std::vector<std::pair<std::string, std::string>> t = {{"<think>", "</think>"}};
    if (f == OutputFormat::Kimi) t.emplace_back("◁think▷", "◁/think▷");  // Kimi k1.5 / VL thinking
    return t;
}

}  // namespace

std::string minify_json(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool in_str = false, escaped = false;
    for (char c : text) {
        if (in_str) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (is_space(c)) {
            continue;
        }
        out += c;
    }
    return out;
}

const char* format_name(OutputFormat f) {
    switch (f) {
    case OutputFormat::Hermes: return "hermes";
    case OutputFormat::DeepSeek: return "deepseek";
    case OutputFormat::GLM: return "glm";
    case OutputFormat::Kimi: return "kimi";
    case OutputFormat::Llama3: return "llama3";
    }
    return "?";
}

OutputFormat detect_output_format(const std::string& src) {
    if (src.find("tool▁calls▁begin") != std::string::npos) return OutputFormat::DeepSeek;
    if (src.find("<|tool_calls_section_begin|>") != std::string::npos) return OutputFormat::Kimi;
    if (src.find("<arg_key>") != std::string::npos) return OutputFormat::GLM;
    if (src.find("<|python_tag|>") != std::string::npos ||
        (src.find("<|start_header_id|>") != std::string::npos && src.find("\"parameters\"") != std::string::npos))
        return OutputFormat::Llama3;
    return OutputFormat::Hermes;
}

bool prompt_opens_reasoning(const std::string& prompt) {
    std::string t = trim(prompt);
    for (std::string_view open : {"<think>", "◁think▷"})
        if (t.size() >= open.size() && t.compare(t.size() - open.size(), open.size(), open) == 0) return true;
    return false;
}

json ParsedOutput::to_message() const {
    json m = {{"role", "assistant"}, {"content", content}};
    if (!reasoning_content.empty()) m["reasoning_content"] = reasoning_content;
    if (!tool_calls.empty()) {
        json calls = json::array();
        for (const auto& c : tool_calls)
            calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
        m["tool_calls"] = std::move(calls);
    }
    return m;
}

// ---------------------------------------------------------------------------------------

ReasoningSplitter::ReasoningSplitter(std::vector<std::pair<std::string, std::string>> tags, bool start_inside,
                                     std::vector<std::string> implicit_close)
    : tags_(std::move(tags)), implicit_(std::move(implicit_close)), inside_(start_inside) {}

OutputDelta ReasoningSplitter::push(std::string_view chunk) {
    OutputDelta d;
    buf_.append(chunk);
    run(d, false);
    return d;
}

OutputDelta ReasoningSplitter::finish() {
    OutputDelta d;
    run(d, true);
    return d;
}

void ReasoningSplitter::run(OutputDelta& d, bool final) {
    auto emit_reasoning = [&](std::string_view s) {
        if (!seen_reasoning_) {
            size_t a = 0;
            while (a < s.size() && is_space(s[a])) ++a;
            s = s.substr(a);
            if (s.empty()) return;
            seen_reasoning_ = true;
        }
        d.reasoning.append(s);
    };
    while (true) {
        switch (st_) {
        case State::Start: {
            size_t ws = 0;
            while (ws < buf_.size() && is_space(buf_[ws])) ++ws;
            std::string_view rest = std::string_view(buf_).substr(ws);
            bool maybe = rest.empty();
            for (size_t i = 0; i < tags_.size(); ++i) {
                const std::string& open = tags_[i].first;
                if (starts_with(rest, open)) {
                    buf_.erase(0, ws + open.size());
                    pair_ = i;
                    st_ = State::Reasoning;
                    goto next;
                }
                if (!rest.empty() && rest.size() < open.size() && starts_with(open, rest)) maybe = true;
            }
            if (maybe && !final) return;
            st_ = inside_ ? State::Reasoning : State::Content;
            break;
        }
        case State::Reasoning: {
            std::vector<std::string> ends;
            if (inside_ && st_ == State::Reasoning && pair_ == 0) {
                for (const auto& t : tags_) ends.push_back(t.second);
            } else {
                ends.push_back(tags_[pair_].second);
            }
            const size_t n_close = ends.size();
            for (const auto& s : implicit_) ends.push_back(s);
            auto [at, which] = find_first(buf_, ends);
            if (at != std::string::npos) {
                std::string_view r = std::string_view(buf_).substr(0, at);
                while (!r.empty() && is_space(r.back())) r.remove_suffix(1);
                emit_reasoning(r);
                if (which < n_close) {
                    buf_.erase(0, at + ends[which].size());
                    st_ = State::AfterClose;
                } else {
                    buf_.erase(0, at);
                    st_ = State::Content;
                }
                break;
            }
            size_t keep = final ? 0 : partial_suffix(buf_, ends);
            size_t cut = buf_.size() - keep;
            // Trailing whitespace waits: it is dropped if the trace closes right after it.
            size_t safe = cut;
            while (safe > 0 && is_space(buf_[safe - 1])) --safe;
            emit_reasoning(std::string_view(buf_).substr(0, safe));
            buf_.erase(0, final ? buf_.size() : safe);
            return;
        }
        case State::AfterClose: {
            size_t ws = 0;
            while (ws < buf_.size() && is_space(buf_[ws])) ++ws;
            buf_.erase(0, ws);
            if (buf_.empty()) return;
            st_ = State::Content;
            break;
        }
        case State::Content:
            d.content += buf_;
            buf_.clear();
            return;
        }
    next:;
    }
}

// ---------------------------------------------------------------------------------------

OutputParser::OutputParser(OutputFormat fmt, bool starts_in_reasoning, json tools, bool parse_tool_calls)
    : fmt_(fmt),
      tools_(std::move(tools)),
      split_(reasoning_tags(fmt), starts_in_reasoning,
             fmt == OutputFormat::Kimi ? std::vector<std::string>{"<|tool_calls_section_begin|>"}
                                       : std::vector<std::string>{}),
      markers_(parse_tool_calls ? tool_markers(fmt) : std::vector<std::string>{}),
      parse_tools_(parse_tool_calls) {}

void OutputParser::feed_content(const std::string& s, OutputDelta& d, bool final) {
    if (in_tools_) {
        tool_text_ += s;
        d.tool_text += s;
        return;
    }
    hold_ += s;
    auto emit = [&](std::string_view t) {
        if (t.empty()) return;
        for (char c : t)
            if (!is_space(c)) any_content_ = true;
        d.content.append(t);
        out_.content.append(t);
    };
    if (parse_tools_ && fmt_ == OutputFormat::Llama3 && !any_content_) {
        size_t a = 0;
        while (a < hold_.size() && is_space(hold_[a])) ++a;
        if (a == hold_.size()) {
            if (!final) return;
        } else if (hold_[a] == '{') {
            in_tools_ = true;
            tool_text_ = hold_.substr(a);
            d.tool_text += tool_text_;
            hold_.clear();
            return;
        }
    }
    auto [at, which] = find_first(hold_, markers_);
    (void)which;
    if (at != std::string::npos) {
        emit(std::string_view(hold_).substr(0, at));
        tool_text_ = hold_.substr(at);
        d.tool_text += tool_text_;
        hold_.clear();
        in_tools_ = true;
        return;
    }
    size_t keep = final ? 0 : partial_suffix(hold_, markers_);
    emit(std::string_view(hold_).substr(0, hold_.size() - keep));
    hold_.erase(0, hold_.size() - keep);
}

OutputDelta OutputParser::push(std::string_view chunk) {
    OutputDelta in = split_.push(chunk);
    OutputDelta d;
    d.reasoning = in.reasoning;
    out_.reasoning_content += in.reasoning;
    feed_content(in.content, d, false);
    return d;
}

OutputDelta OutputParser::finish() {
    OutputDelta in = split_.finish();
    OutputDelta d;
    d.reasoning = in.reasoning;
    out_.reasoning_content += in.reasoning;
    feed_content(in.content, d, true);
    if (in_tools_) {
        std::string rest;
        auto calls = parse_tool_calls(fmt_, tool_text_, rest, tools_);
        std::string tail = calls.empty() ? tool_text_ : rest;
        if (!tail.empty()) {
            if (!calls.empty() && !out_.content.empty() && !is_space(out_.content.back())) tail = "\n" + tail;
            d.content += tail;
            out_.content += tail;
        }
        out_.tool_calls = std::move(calls);
    }
    return d;
}

std::vector<ToolCall> parse_tool_calls(OutputFormat fmt, const std::string& text, std::string& rest,
                                       const json& tools) {
    std::vector<ToolCall> calls;
    rest.clear();
    switch (fmt) {
    case OutputFormat::Hermes: parse_hermes(text, rest, calls); break;
    case OutputFormat::DeepSeek: parse_deepseek(text, rest, calls); break;
    case OutputFormat::GLM: parse_glm(text, rest, calls, tools); break;
    case OutputFormat::Kimi: parse_kimi(text, rest, calls); break;
    case OutputFormat::Llama3: parse_llama3(text, rest, calls); break;
    }
    for (size_t i = 0; i < calls.size(); ++i)
        if (calls[i].id.empty()) calls[i].id = make_id(i, calls[i].name, calls[i].arguments);
    return calls;
}

ParsedOutput parse_output(OutputFormat fmt, bool starts_in_reasoning, const std::string& text, const json& tools) {
    OutputParser p(fmt, starts_in_reasoning, tools);
    p.push(text);
    p.finish();
    return p.result();
}

}  // namespace hearth::chat
