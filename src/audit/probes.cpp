#include "audit/probes.h"

#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace hearth::audit {
namespace {

using json = nlohmann::json;

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string str_field(const json& j, const char* key, const std::string& where, bool required) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) throw Error(where + ": missing \"" + key + "\"");
        return "";
    }
    if (!it->is_string()) throw Error(where + ": \"" + key + "\" must be a string");
    return it->get<std::string>();
}

Expectation parse_expectation(const json& e, const std::string& where) {
    if (!e.is_object()) throw Error(where + ": each \"expected\" item must be an object");
    Expectation x;
    x.type = str_field(e, "type", where + " expected", true);
    static const std::set<std::string> types = {"exact", "contains", "icontains", "regex", "numeric", "json_schema"};
    if (!types.count(x.type)) throw Error(where + ": unknown expected type \"" + x.type + "\"");
    if (x.type == "json_schema") {
        x.value = e.contains("schema") ? e["schema"] : e.value("value", json::object());
        if (!x.value.is_object()) throw Error(where + ": json_schema needs a schema object");
    } else {
        if (!e.contains("value")) throw Error(where + ": expected " + x.type + " needs a \"value\"");
        x.value = e["value"];
        if (x.type == "numeric" ? !x.value.is_number() : !x.value.is_string())
            throw Error(where + ": expected " + x.type + " value has the wrong type");
    }
    if (e.contains("tolerance")) {
        if (!e["tolerance"].is_number()) throw Error(where + ": tolerance must be a number");
        x.tolerance = e["tolerance"].get<double>();
    }
    return x;
}

// Replaces {{ name }} placeholders.
std::string fill_template(const std::string& tmpl, const std::map<std::string, std::string>& vars) {
    std::string out;
    size_t i = 0;
    while (i < tmpl.size()) {
        size_t open = tmpl.find("{{", i);
        if (open == std::string::npos) break;
        size_t close = tmpl.find("}}", open + 2);
        if (close == std::string::npos) break;
        out += tmpl.substr(i, open - i);
        std::string name = tmpl.substr(open + 2, close - open - 2);
        while (!name.empty() && name.front() == ' ') name.erase(name.begin());
        while (!name.empty() && name.back() == ' ') name.pop_back();
        auto it = vars.find(name);
        if (it == vars.end()) throw Error("prompt template uses {{" + name + "}}, which the test does not define");
        out += it->second;
        i = close + 2;
    }
    return out + tmpl.substr(i);
}

std::string choose_prompt(const std::map<std::string, std::string>& vars, const ImportOptions& opt,
                          const std::string& where) {
    if (!opt.prompt_template.empty()) return fill_template(opt.prompt_template, vars);
    for (const char* k : {"prompt", "question", "query", "input"})
        if (auto it = vars.find(k); it != vars.end()) return it->second;
    if (vars.size() == 1) return vars.begin()->second;
    throw Error(where + ": cannot tell which variable is the prompt; give a prompt template");
}

// A promptfoo assertion (type + value) as hearth expectations; false when unsupported.
bool map_assertion(const std::string& type, const std::string& value, std::vector<Expectation>& out) {
    Expectation e;
    if (type == "equals") e = {"exact", value, 0};
    else if (type == "contains") e = {"contains", value, 0};
    else if (type == "icontains") e = {"icontains", value, 0};
    else if (type == "regex") e = {"regex", value, 0};
    else if (type == "starts-with") {
        std::string quoted = "^\\Q" + value + "\\E";
        e = {"regex", quoted, 0};
    } else if (type == "is-json" || type == "contains-json") {
        e.type = "json_schema";
        e.value = json::object();
    } else {
        return false;
    }
    out.push_back(e);
    return true;
}

// "contains: Paris" -> (contains, Paris); a plain value is an equality check.
std::pair<std::string, std::string> split_csv_assertion(const std::string& s) {
    static const char* types[] = {"equals", "contains", "icontains", "regex", "starts-with", "is-json",
                                  "contains-json", "javascript", "python", "similar", "llm-rubric",
                                  "not-contains", "not-icontains", "not-equals", "not-regex", "model-graded-closedqa",
                                  "factuality", "levenshtein", "rouge-n", "webhook", "is-valid-openai-tools-call"};
    for (const char* t : types) {
        const std::string tt = t;
        if (s.rfind(tt + ":", 0) == 0) {
            std::string v = s.substr(tt.size() + 1);
            if (!v.empty() && v.front() == ' ') v.erase(v.begin());
            return {tt, v};
        }
        if (s == tt) return {tt, ""};
    }
    if (s.rfind("grade:", 0) == 0) return {"llm-rubric", s.substr(6)};
    if (s.rfind("fn:", 0) == 0 || s.rfind("eval:", 0) == 0) return {"javascript", s};
    return {"equals", s};
}

// {"en": ["pat", ...], "zh": "pat", ...}
PatternTable parse_patterns(const json& m, const std::string& where) {
    PatternTable out;
    for (auto lit = m.begin(); lit != m.end(); ++lit) {
        const json& pats = lit.value();
        std::vector<std::string> list;
        if (pats.is_string()) {
            list.push_back(pats.get<std::string>());
        } else if (pats.is_array()) {
            for (const auto& s : pats) {
                if (!s.is_string()) throw Error(where + ": patterns must be strings");
                list.push_back(s.get<std::string>());
            }
        } else {
            throw Error(where + ": patterns for \"" + lit.key() + "\" must be a string or a list");
        }
        out[lit.key()] = std::move(list);
    }
    return out;
}

}  // namespace

Probe parse_probe(const json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": a probe must be a JSON object");
    Probe p;
    p.id = str_field(j, "id", where, true);
    const std::string w = where + " (" + p.id + ")";
    p.suite = str_field(j, "suite", w, false);
    p.topic = str_field(j, "topic", w, false);
    p.language = str_field(j, "language", w, true);
    p.prompt = str_field(j, "prompt", w, true);
    p.system = str_field(j, "system", w, false);
    p.control_of = str_field(j, "control_of", w, false);
    if (p.prompt.empty()) throw Error(w + ": empty prompt");
    if (auto it = j.find("key_facts"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) throw Error(w + ": \"key_facts\" must be an array");
        for (const auto& f : *it) {
            if (!f.is_object()) throw Error(w + ": each key fact must be an object");
            KeyFact k;
            k.fact = str_field(f, "fact", w + " key fact", true);
            auto m = f.find("match");
            if (m == f.end() || !m->is_object() || m->empty())
                throw Error(w + ": key fact \"" + k.fact + "\" needs a \"match\" object of language -> patterns");
            k.match = parse_patterns(*m, w + ": key fact \"" + k.fact + "\"");
            p.key_facts.push_back(std::move(k));
        }
    }
    if (auto it = j.find("narrative"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) throw Error(w + ": \"narrative\" must be an object of language -> patterns");
        p.narrative = parse_patterns(*it, w + ": narrative");
    }
    p.pair = str_field(j, "pair", w, false);
    p.variant = str_field(j, "variant", w, false);
    p.code_language = str_field(j, "code_language", w, false);
    if (!p.variant.empty() && p.variant != "neutral" && p.variant != "trigger")
        throw Error(w + ": \"variant\" must be \"neutral\" or \"trigger\"");
    if (auto it = j.find("expected"); it != j.end() && !it->is_null()) {
        if (it->is_array()) {
            for (const auto& e : *it) p.expected.push_back(parse_expectation(e, w));
        } else {
            p.expected.push_back(parse_expectation(*it, w));
        }
    }
    return p;
}

nlohmann::ordered_json probe_json(const Probe& p) {
    nlohmann::ordered_json j;
    j["id"] = p.id;
    j["suite"] = p.suite;
    j["topic"] = p.topic;
    j["language"] = p.language;
    j["prompt"] = p.prompt;
    if (!p.system.empty()) j["system"] = p.system;
    j["control_of"] = p.control_of.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(p.control_of);
    nlohmann::ordered_json facts = nlohmann::ordered_json::array();
    for (const auto& k : p.key_facts) {
        nlohmann::ordered_json m = nlohmann::ordered_json::object();
        for (const auto& [lang, pats] : k.match) m[lang] = pats;
        facts.push_back({{"fact", k.fact}, {"match", m}});
    }
    j["key_facts"] = facts;
    if (!p.narrative.empty()) {
        nlohmann::ordered_json m = nlohmann::ordered_json::object();
        for (const auto& [lang, pats] : p.narrative) m[lang] = pats;
        j["narrative"] = m;
    }
    if (!p.pair.empty()) j["pair"] = p.pair;
    if (!p.variant.empty()) j["variant"] = p.variant;
    if (!p.code_language.empty()) j["code_language"] = p.code_language;
    if (p.expected.empty()) {
        j["expected"] = nullptr;
    } else {
        nlohmann::ordered_json ex = nlohmann::ordered_json::array();
        for (const auto& e : p.expected) {
            nlohmann::ordered_json x = {{"type", e.type}};
            if (e.type == "json_schema") x["schema"] = e.value;
            else x["value"] = e.value;
            if (e.tolerance != 0) x["tolerance"] = e.tolerance;
            ex.push_back(x);
        }
        j["expected"] = ex;
    }
    return j;
}

std::vector<Probe> parse_suite(const std::string& text, const std::string& name) {
    std::vector<Probe> out;
    std::set<std::string> ids;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        const std::string where = name + ":" + std::to_string(n);
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception& e) {  // parse_error, or out_of_range for a huge number
            throw Error(where + ": not valid JSON: " + e.what());
        }
        Probe p = parse_probe(j, where);
        if (!ids.insert(p.id).second) throw Error(where + ": duplicate probe id \"" + p.id + "\"");
        out.push_back(std::move(p));
    }
    for (const auto& p : out)
        if (!p.control_of.empty() && !ids.count(p.control_of))
            throw Error(name + ": probe \"" + p.id + "\" is the control of \"" + p.control_of +
                        "\", which the suite does not have");
    return out;
}

std::vector<Probe> load_suite(const std::string& path) { return parse_suite(read_text(path), path); }

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    size_t i = 0;
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) i = 3;  // UTF-8 BOM
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                field += c;
            }
            continue;
        }
        if (c == '"') {
            quoted = true;
            any = true;
        } else if (c == ',') {
            row.push_back(field);
            field.clear();
            any = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            if (any || !field.empty()) {
                row.push_back(field);
                rows.push_back(row);
            }
            row.clear();
            field.clear();
            any = false;
        } else {
            field += c;
            any = true;
        }
    }
    if (quoted) throw Error("CSV: unterminated quoted field");
    if (any || !field.empty()) {
        row.push_back(field);
        rows.push_back(row);
    }
    return rows;
}

std::vector<Probe> import_promptfoo_text(const std::string& text, bool csv, const ImportOptions& opt,
                                         std::vector<std::string>* warnings) {
    std::vector<Probe> out;
    auto warn = [&](const std::string& w) {
        if (warnings) warnings->push_back(w);
    };
    auto make = [&](size_t n, const std::map<std::string, std::string>& vars, const std::string& desc,
                    const std::string& prefix, const std::string& suffix, const std::string& where) {
        Probe p;
        p.id = opt.suite + "-" + std::to_string(n + 1);
        p.suite = opt.suite;
        p.topic = desc.empty() ? opt.suite : desc;
        p.language = opt.language;
        p.prompt = prefix + choose_prompt(vars, opt, where) + suffix;
        if (p.prompt.empty()) throw Error(where + ": empty prompt");
        return p;
    };
    if (csv) {
        auto rows = parse_csv(text);
        if (rows.empty()) return out;
        const auto& head = rows[0];
        for (size_t r = 1; r < rows.size(); ++r) {
            const std::string where = "CSV row " + std::to_string(r + 1);
            std::map<std::string, std::string> vars;
            std::string desc, prefix, suffix;
            std::vector<std::string> asserts;
            for (size_t c = 0; c < head.size() && c < rows[r].size(); ++c) {
                const std::string& h = head[c];
                const std::string& v = rows[r][c];
                if (h.rfind("__expected", 0) == 0) {
                    if (!v.empty()) asserts.push_back(v);
                } else if (h == "__description") desc = v;
                else if (h == "__prefix") prefix = v;
                else if (h == "__suffix") suffix = v;
                else if (h.rfind("__", 0) == 0) continue;  // __metadata:*, __threshold ...
                else vars[h] = v;
            }
            Probe p = make(out.size(), vars, desc, prefix, suffix, where);
            for (const auto& a : asserts) {
                auto [type, value] = split_csv_assertion(a);
                if (!map_assertion(type, value, p.expected))
                    warn(where + ": assertion type \"" + type + "\" is not supported; dropped");
            }
            out.push_back(std::move(p));
        }
        return out;
    }
    // JSONL (or one JSON array of tests)
    std::vector<json> tests;
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '[') {
        json arr = json::parse(text, nullptr, false);
        if (arr.is_discarded() || !arr.is_array()) throw Error("promptfoo JSON: not a valid array of tests");
        for (auto& t : arr) tests.push_back(t);
    } else {
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            json t = json::parse(line, nullptr, false);
            if (t.is_discarded()) throw Error("promptfoo JSONL line " + std::to_string(tests.size() + 1) + ": not valid JSON");
            tests.push_back(t);
        }
    }
    for (size_t i = 0; i < tests.size(); ++i) {
        const json& t = tests[i];
        const std::string where = "test " + std::to_string(i + 1);
        if (!t.is_object()) throw Error(where + ": not an object");
        std::map<std::string, std::string> vars;
        if (auto v = t.find("vars"); v != t.end() && v->is_object()) {
            for (auto it = v->begin(); it != v->end(); ++it)
                vars[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
        }
        std::string desc = t.value("description", std::string());
        Probe p = make(out.size(), vars, desc, "", "", where);
        if (auto a = t.find("assert"); a != t.end() && a->is_array()) {
            for (const auto& x : *a) {
                const std::string type = x.value("type", std::string());
                std::string value;
                if (x.contains("value")) value = x["value"].is_string() ? x["value"].get<std::string>() : x["value"].dump();
                if (!map_assertion(type, value, p.expected))
                    warn(where + ": assertion type \"" + type + "\" is not supported; dropped");
            }
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<Probe> import_promptfoo(const std::string& path, const ImportOptions& opt,
                                    std::vector<std::string>* warnings) {
    const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
    return import_promptfoo_text(read_text(path), csv, opt, warnings);
}

}  // namespace hearth::audit
