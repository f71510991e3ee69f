#include "chat/tool_call_grammar.h"

#include <algorithm>
#include <map>

#include "chat/json_schema.h"
#include "core/error.h"

namespace hearth::chat {

namespace {

using json = nlohmann::ordered_json;
using G = GrammarAssembler;
using Alts = std::vector<std::vector<G::Part>>;

struct Tool {
    std::string name;
    json parameters;
};

std::vector<Tool> read_tools(const json& tools, const std::string& only) {
    if (!tools.is_array() || tools.empty()) throw Error("tool calls: no tools were given");
    std::vector<Tool> out;
    for (size_t i = 0; i < tools.size(); ++i) {
        const json& t = tools[i];
        const json& f = t.is_object() && t.contains("function") ? t["function"] : t;
        const std::string where = "tools[" + std::to_string(i) + "]";
        if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty())
            throw Error(where + ": a function tool needs a non-empty string 'name'");
        Tool tool{f["name"].get<std::string>(), f.value("parameters", json{{"type", "object"}})};
        if (tool.parameters.is_null()) tool.parameters = json{{"type", "object"}};
        if (only.empty() || tool.name == only) out.push_back(std::move(tool));
    }
    if (out.empty()) throw Error("tool_choice names the function '" + only + "', which is not among the tools");
    return out;
}

// A rule matching any text that does not contain `stop` (it may end with a proper prefix of
// it, which is safe for "</think>": no proper prefix of it is also a suffix, so the stop
// string that follows the text is its first occurrence). States are how much of `stop` the
// text ends with, as in string matching by automaton.
int32_t text_without(G& a, const std::string& stop) {
    const size_t n = stop.size();
    std::vector<int32_t> state(n);
    for (auto& s : state) s = a.reserve();
    auto next = [&](size_t q, unsigned char b) {
        std::string seen = stop.substr(0, q) + static_cast<char>(b);
        for (size_t k = std::min(seen.size(), n); k > 0; --k)
            if (seen.compare(seen.size() - k, k, stop, 0, k) == 0) return k;
        return size_t{0};
    };
    for (size_t q = 0; q < n; ++q) {
        std::map<size_t, std::string> by_target;
        for (int b = 0; b < 256; ++b) {
            size_t t = next(q, static_cast<unsigned char>(b));
            if (t < n) by_target[t] += static_cast<char>(b);
        }
        Alts alts = {{}};
        for (const auto& [t, bytes] : by_target) alts.push_back({G::bytes_only(bytes), G::rule(state[t])});
        a.define(state[q], alts);
    }
    return state[0];
}

// What may precede the calls: nothing, or (for templates that know <think>) one trace.
int32_t reasoning_prefix(G& a, bool knows_think, bool starts_inside) {
    if (!knows_think && !starts_inside) return a.add({{}});
    const int32_t text = text_without(a, "</think>");
    const int32_t gap = a.add({{}, {G::text("\n")}, {G::text("\n\n")}});
    const std::vector<G::Part> close = {G::rule(text), G::text("</think>"), G::rule(gap)};
    if (starts_inside) return a.add({close});
    std::vector<G::Part> block = {G::text("<think>")};
    block.insert(block.end(), close.begin(), close.end());
    return a.add({{}, block});
}

// calls ::= call (sep call)*  (or exactly one call)
int32_t repeat(G& a, int32_t call, const std::string& sep, bool parallel) {
    if (!parallel) return call;
    const int32_t calls = a.reserve();
    a.define(calls, {{G::rule(call)}, {G::rule(call), G::text(sep), G::rule(calls)}});
    return calls;
}

std::string quoted(const std::string& s) { return json(s).dump(); }

// {"name": "f", "<args_key>": {..}} for each tool: Hermes ("arguments") and Llama 3 ("parameters").
int32_t json_call(G& a, const std::vector<Tool>& tools, const std::string& args_key) {
    Alts alts;
    for (const auto& t : tools)
        alts.push_back({G::text("{\"name\": " + quoted(t.name) + ", \"" + args_key + "\": "), G::rule(a.add_schema(t.parameters)),
                        G::text("}")});
    return a.add(alts);
}

// One character of a raw GLM string value: any ASCII but '<' (which would begin the closing
// tag), or a well-formed UTF-8 sequence (the parser keeps the value as a JSON string).
int32_t raw_char(G& a) {
    auto span = [](int lo, int hi) {
        std::string s;
        for (int c = lo; c <= hi; ++c) s += static_cast<char>(c);
        return G::bytes_only(s);
    };
    const G::Part cont = span(0x80, 0xBF);
    std::string ascii;
    for (int c = 1; c < 0x80; ++c)
        if (c != '<') ascii += static_cast<char>(c);
    return a.add({{G::bytes_only(ascii)},
                  {span(0xC2, 0xDF), cont},
                  {span(0xE0, 0xE0), span(0xA0, 0xBF), cont},
                  {span(0xE1, 0xEC), cont, cont},
                  {span(0xED, 0xED), span(0x80, 0x9F), cont},
                  {span(0xEE, 0xEF), cont, cont},
                  {span(0xF0, 0xF0), span(0x90, 0xBF), cont, cont},
                  {span(0xF1, 0xF3), cont, cont, cont},
                  {span(0xF4, 0xF4), span(0x80, 0x8F), cont, cont}});
}

// GLM's key/value pairs, in the order the schema lists the properties.
int32_t glm_arguments(G& a, const Tool& t) {
    const json& p = t.parameters;
    if (!p.is_object()) return a.add({{}});
    const json props = p.contains("properties") && p["properties"].is_object() ? p["properties"] : json::object();
    std::vector<std::string> required;
    if (p.contains("required") && p["required"].is_array())
        for (const auto& r : p["required"])
            if (r.is_string()) required.push_back(r.get<std::string>());
    for (const auto& r : required)
        if (!props.contains(r)) throw Error("tool '" + t.name + "': required parameter '" + r + "' is not among its properties");
    int32_t rest = a.add({{}});
    std::vector<std::pair<std::string, json>> list;
    for (auto it = props.begin(); it != props.end(); ++it) list.emplace_back(it.key(), it.value());
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
        const auto& [key, schema] = *it;
        int32_t value;
        const bool is_string = schema.is_object() && schema.value("type", json()) == "string";
        if (is_string && (schema.contains("enum") || schema.contains("const"))) {
            Alts raw;  // the parser keeps string values as written, unquoted
            for (const auto& v : schema.contains("const") ? json::array({schema["const"]}) : schema["enum"])
                if (v.is_string()) raw.push_back({G::text(v.get<std::string>())});
            if (raw.empty()) throw Error("tool '" + t.name + "': parameter '" + key + "' has no string values");
            value = a.add(raw);
        } else if (is_string) {
            const int32_t chars = a.reserve();
            a.define(chars, {{}, {G::rule(raw_char(a)), G::rule(chars)}});
            value = chars;
        } else {
            value = a.add_schema(schema);
        }
        const std::vector<G::Part> pair = {G::text("<arg_key>" + key + "</arg_key>\n<arg_value>"), G::rule(value),
                                           G::text("</arg_value>\n"), G::rule(rest)};
        const bool req = std::find(required.begin(), required.end(), key) != required.end();
        rest = req ? a.add({pair}) : a.add({pair, {G::rule(rest)}});
    }
    return rest;
}

}  // namespace

bool template_writes_tool_calls(const std::string& src) {
    switch (detect_output_format(src)) {
    case OutputFormat::Hermes: return src.find("<tool_call>") != std::string::npos;
    case OutputFormat::DeepSeek:
    case OutputFormat::GLM:
    case OutputFormat::Kimi:
    case OutputFormat::Llama3: return true;  // detected from their call markup itself
    }
    return false;
}

Grammar tool_call_grammar(const json& tool_list, const std::string& src, const ToolCallGrammarOptions& opt) {
    const std::vector<Tool> tools = read_tools(tool_list, opt.only);
    const OutputFormat fmt = detect_output_format(src);
    G a;
    const int32_t prefix = reasoning_prefix(a, src.find("<think>") != std::string::npos, opt.starts_in_reasoning);
    int32_t body = -1;
    switch (fmt) {
    case OutputFormat::Hermes: {
        const int32_t call = a.add({{G::text("<tool_call>\n"), G::rule(json_call(a, tools, "arguments")), G::text("\n</tool_call>")}});
        body = repeat(a, call, "\n", opt.parallel);
        break;
    }
    case OutputFormat::Llama3: body = repeat(a, json_call(a, tools, "parameters"), "; ", opt.parallel); break;
    case OutputFormat::DeepSeek: {
        const bool fenced = src.find("```json") != std::string::npos;
        Alts alts;
        for (const auto& t : tools) {
            const int32_t args = a.add_schema(t.parameters);
            if (fenced)
                alts.push_back({G::text("<｜tool▁call▁begin｜>function<｜tool▁sep｜>" + t.name + "\n```json\n"), G::rule(args),
                                G::text("\n```<｜tool▁call▁end｜>")});
            else
                alts.push_back({G::text("<｜tool▁call▁begin｜>" + t.name + "<｜tool▁sep｜>"), G::rule(args),
                                G::text("<｜tool▁call▁end｜>")});
        }
        const int32_t calls = repeat(a, a.add(alts), fenced ? "\n" : "", opt.parallel);
        body = a.add({{G::text("<｜tool▁calls▁begin｜>"), G::rule(calls), G::text("<｜tool▁calls▁end｜>")}});
        break;
    }
    case OutputFormat::Kimi: {
        const int32_t digit = a.add({{G::bytes_only("0123456789")}});
        const int32_t index = a.add({{G::rule(digit)}, {G::rule(digit), G::rule(digit)}});
        Alts alts;
        for (const auto& t : tools)
            alts.push_back({G::text("<|tool_call_begin|>functions." + t.name + ":"), G::rule(index),
                            G::text("<|tool_call_argument_begin|>"), G::rule(a.add_schema(t.parameters)),
                            G::text("<|tool_call_end|>")});
        const int32_t calls = repeat(a, a.add(alts), "", opt.parallel);
        body = a.add({{G::text("<|tool_calls_section_begin|>"), G::rule(calls), G::text("<|tool_calls_section_end|>")}});
        break;
    }
    case OutputFormat::GLM: {
        Alts alts;
        for (const auto& t : tools)
            alts.push_back({G::text("<tool_call>" + t.name + "\n"), G::rule(glm_arguments(a, t)), G::text("</tool_call>")});
        body = repeat(a, a.add(alts), "\n", opt.parallel);
        break;
    }
    }
    return a.finish(a.add({{G::rule(prefix), G::rule(body)}}), "tool-call grammar");
}

}  // namespace hearth::chat
