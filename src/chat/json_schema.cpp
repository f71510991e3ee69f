#include "chat/json_schema.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace hearth::chat {

using json = nlohmann::ordered_json;

// ----------------------------------------------------------------------------- validator

namespace {

bool type_matches(const std::string& t, const json& v) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "number") return v.is_number();
    if (t == "integer") {
        if (v.is_number_integer()) return true;
        if (v.is_number_float()) {
            double d = v.get<double>();
            return std::isfinite(d) && d == std::floor(d);
        }
        return false;
    }
    throw Error("JSON schema: unsupported type \"" + t + "\"");
}

// JSON equality as the schema standard means it: 1 == 1.0, but true != 1.
bool json_equal(const json& a, const json& b) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    if (a.type() != b.type()) return false;
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (!json_equal(a[i], b[i])) return false;
        return true;
    }
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto it = a.begin(); it != a.end(); ++it) {
            if (!b.contains(it.key()) || !json_equal(it.value(), b[it.key()])) return false;
        }
        return true;
    }
    return a == b;
}

bool fail(std::string* why, const std::string& path, const std::string& msg) {
    if (why) *why = (path.empty() ? "$" : path) + ": " + msg;
    return false;
}

bool validate_at(const json& s, const json& v, const std::string& path, std::string* why) {
    if (s.is_boolean()) return s.get<bool>() ? true : fail(why, path, "schema false");
    if (!s.is_object()) throw Error("JSON schema: a schema must be an object or a boolean");
    if (s.contains("const") && !json_equal(s["const"], v)) return fail(why, path, "not the const value");
    if (s.contains("enum")) {
        bool any = false;
        for (const auto& e : s["enum"]) any = any || json_equal(e, v);
        if (!any) return fail(why, path, "not one of the enum values");
    }
    if (s.contains("type")) {
        const json& t = s["type"];
        bool ok = false;
        if (t.is_string()) ok = type_matches(t.get<std::string>(), v);
        else
            for (const auto& x : t) ok = ok || type_matches(x.get<std::string>(), v);
        if (!ok) return fail(why, path, "wrong type (schema type " + t.dump() + ")");
    }
    if (s.contains("anyOf")) {
        bool any = false;
        for (const auto& sub : s["anyOf"]) any = any || validate_at(sub, v, path, nullptr);
        if (!any) return fail(why, path, "matches none of anyOf");
    }
    if (s.contains("oneOf")) {
        int n = 0;
        for (const auto& sub : s["oneOf"]) n += validate_at(sub, v, path, nullptr) ? 1 : 0;
        if (n != 1) return fail(why, path, "matches " + std::to_string(n) + " of oneOf");
    }
    if (s.contains("allOf"))
        for (const auto& sub : s["allOf"])
            if (!validate_at(sub, v, path, why)) return false;
    if (v.is_object()) {
        const json empty = json::object();
        const json& props = s.contains("properties") ? s["properties"] : empty;
        if (s.contains("required"))
            for (const auto& r : s["required"])
                if (!v.contains(r.get<std::string>())) return fail(why, path, "missing required " + r.dump());
        for (auto it = v.begin(); it != v.end(); ++it) {
            std::string p = path + "." + it.key();
            if (props.contains(it.key())) {
                if (!validate_at(props[it.key()], it.value(), p, why)) return false;
            } else if (s.contains("additionalProperties")) {
                if (!validate_at(s["additionalProperties"], it.value(), p, why)) return false;
            }
        }
    }
    if (v.is_array()) {
        if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return fail(why, path, "too few items");
        if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return fail(why, path, "too many items");
        if (s.contains("items"))
            for (size_t i = 0; i < v.size(); ++i)
                if (!validate_at(s["items"], v[i], path + "[" + std::to_string(i) + "]", why)) return false;
    }
    return true;
}

}  // namespace

bool validate_json_schema(const json& schema, const json& instance, std::string* why) {
    return validate_at(schema, instance, "", why);
}

// ----------------------------------------------------------------------------- grammar

namespace {

struct Sym {
    enum Kind { Lit, Cls, Ref } kind;
    std::string lit;
    std::array<uint64_t, 4> cls{};
    int32_t rule = -1;
};

Sym lit(std::string s) { return Sym{Sym::Lit, std::move(s), {}, -1}; }
Sym ref(int32_t r) { return Sym{Sym::Ref, {}, {}, r}; }
Sym range(std::initializer_list<std::pair<int, int>> rs) {
    Sym s{Sym::Cls, {}, {}, -1};
    for (auto [a, b] : rs)
        for (int c = a; c <= b; ++c) s.cls[static_cast<size_t>(c) >> 6] |= uint64_t{1} << (c & 63);
    return s;
}

class Builder {
public:
    Grammar g;

    int32_t reserve() {
        g.rules.emplace_back();
        return static_cast<int32_t>(g.rules.size() - 1);
    }
    void define(int32_t r, const std::vector<std::vector<Sym>>& alts) {
        for (const auto& alt : alts) {
            g.rules[static_cast<size_t>(r)].push_back(static_cast<int32_t>(g.elems.size()));
            for (const auto& s : alt) {
                if (s.kind == Sym::Ref) {
                    g.elems.push_back({Grammar::Elem::Ref, s.rule});
                } else if (s.kind == Sym::Cls) {
                    g.elems.push_back({Grammar::Elem::Class, class_id(s.cls)});
                } else {
                    for (unsigned char c : s.lit) {
                        std::array<uint64_t, 4> one{};
                        one[c >> 6] |= uint64_t{1} << (c & 63);
                        g.elems.push_back({Grammar::Elem::Class, class_id(one)});
                    }
                }
            }
            g.elems.push_back({Grammar::Elem::End, 0});
        }
    }
    int32_t rule(const std::vector<std::vector<Sym>>& alts) {
        int32_t r = reserve();
        define(r, alts);
        return r;
    }

    int32_t ws() {
        if (ws_ < 0) ws_ = rule({{}, {lit(" ")}});
        return ws_;
    }
    int32_t digits_upto(int n) {  // [0-9]{0,n}
        int32_t r = rule({{}});
        for (int i = 1; i <= n; ++i) r = rule({{}, {range({{'0', '9'}}), ref(r)}});
        return r;
    }
    int32_t integer() {
        if (int_ < 0) {
            int32_t tail = digits_upto(14);
            int32_t mag = rule({{lit("0")}, {range({{'1', '9'}}), ref(tail)}});
            int_ = rule({{ref(mag)}, {lit("-"), ref(mag)}});
        }
        return int_;
    }
    int32_t number() {
        if (num_ < 0) {
            int32_t frac = rule({{}, {lit("."), range({{'0', '9'}}), ref(digits_upto(14))}});
            int32_t exp_digits = rule({{range({{'0', '9'}})}, {range({{'0', '9'}}), range({{'0', '9'}})}});
            int32_t exp = rule({{}, {range({{'e', 'e'}, {'E', 'E'}}), range({{'+', '+'}, {'-', '-'}}), ref(exp_digits)},
                                {range({{'e', 'e'}, {'E', 'E'}}), ref(exp_digits)}});
            num_ = rule({{ref(integer()), ref(frac), ref(exp)}});
        }
        return num_;
    }
    int32_t string() {
        if (str_ < 0) {
            const Sym cont = range({{0x80, 0xBF}});
            int32_t hex = rule({{range({{'0', '9'}, {'a', 'f'}, {'A', 'F'}})}});
            int32_t ch = rule({
                {range({{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0x7F}})},
                {lit("\\"), range({{'"', '"'}, {'\\', '\\'}, {'/', '/'}, {'b', 'b'}, {'f', 'f'}, {'n', 'n'}, {'r', 'r'}, {'t', 't'}})},
                // \u escapes of code points, surrogates only in high-low pairs: a lone one is
                // not valid JSON text to most parsers.
                {lit("\\u"), range({{'0', '9'}, {'a', 'c'}, {'A', 'C'}}), ref(hex), ref(hex), ref(hex)},
                {lit("\\u"), range({{'d', 'd'}, {'D', 'D'}}), range({{'0', '7'}}), ref(hex), ref(hex)},
                {lit("\\u"), range({{'e', 'f'}, {'E', 'F'}}), ref(hex), ref(hex), ref(hex)},
                {lit("\\u"), range({{'d', 'd'}, {'D', 'D'}}), range({{'8', '9'}, {'a', 'b'}, {'A', 'B'}}), ref(hex),
                 ref(hex), lit("\\u"), range({{'d', 'd'}, {'D', 'D'}}), range({{'c', 'f'}, {'C', 'F'}}), ref(hex),
                 ref(hex)},
                {range({{0xC2, 0xDF}}), cont},
                {range({{0xE0, 0xE0}}), range({{0xA0, 0xBF}}), cont},
                {range({{0xE1, 0xEC}, {0xEE, 0xEF}}), cont, cont},
                {range({{0xED, 0xED}}), range({{0x80, 0x9F}}), cont},
                {range({{0xF0, 0xF0}}), range({{0x90, 0xBF}}), cont, cont},
                {range({{0xF1, 0xF3}}), cont, cont, cont},
                {range({{0xF4, 0xF4}}), range({{0x80, 0x8F}}), cont, cont},
            });
            int32_t chars = reserve();
            define(chars, {{}, {ref(ch), ref(chars)}});
            str_ = rule({{lit("\""), ref(chars), lit("\"")}});
        }
        return str_;
    }
    int32_t any_value() {
        if (any_ < 0) {
            any_ = reserve();
            int32_t kv = rule({{ref(string()), lit(":"), ref(ws()), ref(any_)}});
            int32_t kvs = reserve();
            define(kvs, {{}, {lit(","), ref(ws()), ref(kv), ref(kvs)}});
            int32_t obj = rule({{lit("{}")}, {lit("{"), ref(kv), ref(kvs), lit("}")}});
            int32_t vs = reserve();
            define(vs, {{}, {lit(","), ref(ws()), ref(any_), ref(vs)}});
            int32_t arr = rule({{lit("[]")}, {lit("["), ref(any_), ref(vs), lit("]")}});
            define(any_, {{ref(obj)}, {ref(arr)}, {ref(string())}, {ref(number())}, {lit("true")}, {lit("false")},
                          {lit("null")}});
        }
        return any_;
    }

    int32_t compile(const json& s);

private:
    int32_t class_id(const std::array<uint64_t, 4>& c) {
        for (size_t i = 0; i < g.classes.size(); ++i)
            if (g.classes[i] == c) return static_cast<int32_t>(i);
        g.classes.push_back(c);
        return static_cast<int32_t>(g.classes.size() - 1);
    }
    int32_t ws_ = -1, int_ = -1, num_ = -1, str_ = -1, any_ = -1;
    int depth_ = 0;
};

int32_t Builder::compile(const json& s) {
    if (++depth_ > 64) throw Error("JSON schema: nested too deeply");
    struct Guard {
        int& d;
        ~Guard() { --d; }
    } guard{depth_};
    if (s.is_boolean()) {
        if (!s.get<bool>()) throw Error("JSON schema: schema false accepts nothing");
        return any_value();
    }
    if (!s.is_object()) throw Error("JSON schema: a schema must be an object or a boolean");
    for (const char* k : {"$ref", "allOf", "not", "if", "patternProperties", "pattern", "format"})
        if (s.contains(k)) throw Error(std::string("JSON schema: \"") + k + "\" is not supported");
    if (s.contains("const")) return rule({{lit(s["const"].dump())}});
    if (s.contains("enum")) {
        std::vector<std::vector<Sym>> alts;
        for (const auto& e : s["enum"]) alts.push_back({lit(e.dump())});
        if (alts.empty()) throw Error("JSON schema: empty enum");
        return rule(alts);
    }
    for (const char* k : {"anyOf", "oneOf"}) {
        if (!s.contains(k)) continue;
        std::vector<std::vector<Sym>> alts;
        for (const auto& sub : s[k]) {
            json merged = sub;
            alts.push_back({ref(compile(merged))});
        }
        if (alts.empty()) throw Error(std::string("JSON schema: empty ") + k);
        return rule(alts);
    }
    if (!s.contains("type")) {
        if (s.contains("properties")) {
            json t = s;
            t["type"] = "object";
            return compile(t);
        }
        if (s.contains("items")) {
            json t = s;
            t["type"] = "array";
            return compile(t);
        }
        return any_value();
    }
    const json& t = s["type"];
    if (t.is_array()) {
        std::vector<std::vector<Sym>> alts;
        for (const auto& x : t) {
            json one = s;
            one["type"] = x;
            alts.push_back({ref(compile(one))});
        }
        if (alts.empty()) throw Error("JSON schema: empty type list");
        return rule(alts);
    }
    const std::string type = t.get<std::string>();
    if (type == "string") return string();
    if (type == "integer") return integer();
    if (type == "number") return number();
    if (type == "boolean") return rule({{lit("true")}, {lit("false")}});
    if (type == "null") return rule({{lit("null")}});
    if (type == "array") {
        int32_t item = s.contains("items") ? compile(s["items"]) : any_value();
        int64_t lo = s.value("minItems", int64_t{0});
        int64_t hi = s.contains("maxItems") ? s["maxItems"].get<int64_t>() : -1;
        if (hi >= 0 && hi < lo) throw Error("JSON schema: maxItems < minItems");
        if (lo > 256) throw Error("JSON schema: minItems above 256 is not supported");
        if (hi == 0) return rule({{lit("[]")}});
        const int64_t first = std::max<int64_t>(lo, 1);  // items in the non-empty alternative
        int32_t more;                                   // optional items after `first`
        if (hi < 0) {
            more = reserve();
            define(more, {{}, {lit(","), ref(ws()), ref(item), ref(more)}});
        } else {
            more = rule({{}});
            for (int64_t i = 0; i < hi - first; ++i) more = rule({{}, {lit(","), ref(ws()), ref(item), ref(more)}});
        }
        std::vector<Sym> alt = {lit("["), ref(item)};
        for (int64_t i = 1; i < first; ++i) {
            alt.push_back(lit(","));
            alt.push_back(ref(ws()));
            alt.push_back(ref(item));
        }
        alt.push_back(ref(more));
        alt.push_back(lit("]"));
        std::vector<std::vector<Sym>> alts = {alt};
        if (lo == 0) alts.push_back({lit("[]")});
        return rule(alts);
    }
    if (type == "object") {
        const json empty = json::object();
        const json& props = s.contains("properties") ? s["properties"] : empty;
        std::vector<std::string> req;
        if (s.contains("required"))
            for (const auto& r : s["required"]) req.push_back(r.get<std::string>());
        int32_t extra_value = -1;  // schema of additional properties, -1 when none may be written
        if (s.contains("additionalProperties")) {
            const json& ap = s["additionalProperties"];
            if (!(ap.is_boolean() && !ap.get<bool>())) extra_value = compile(ap);
        } else if (props.empty()) {
            extra_value = any_value();
        }
        for (const auto& r : req)
            if (!props.contains(r) && extra_value < 0)
                throw Error("JSON schema: required property \"" + r + "\" is not allowed by the schema");
        std::vector<std::pair<std::string, int32_t>> keys;
        std::vector<bool> required;
        for (auto it = props.begin(); it != props.end(); ++it) {
            keys.emplace_back(it.key(), compile(it.value()));
            required.push_back(std::find(req.begin(), req.end(), it.key()) != req.end());
        }
        // Required names that are not listed properties are written first, with the extra schema.
        for (const auto& r : req)
            if (!props.contains(r)) {
                keys.insert(keys.begin(), {r, extra_value});
                required.insert(required.begin(), true);
            }
        const size_t n = keys.size();
        // S[i][first]: properties i.. still to come; first: nothing written yet (no comma).
        std::vector<std::array<int32_t, 2>> S(n + 1);
        for (size_t i = 0; i <= n; ++i) S[i] = {reserve(), reserve()};
        for (int f = 0; f < 2; ++f) {
            std::vector<std::vector<Sym>> alts = {{}};
            if (extra_value >= 0) {
                int32_t kv = rule({{ref(string()), lit(":"), ref(ws()), ref(extra_value)}});
                int32_t tail = reserve();
                define(tail, {{}, {lit(","), ref(ws()), ref(kv), ref(tail)}});
                if (f == 1) alts.push_back({ref(kv), ref(tail)});
                else alts.push_back({lit(","), ref(ws()), ref(kv), ref(tail)});
            }
            define(S[n][static_cast<size_t>(f)], alts);
        }
        for (size_t i = n; i-- > 0;) {
            for (int f = 0; f < 2; ++f) {
                std::vector<Sym> take;
                if (f == 0) {
                    take.push_back(lit(","));
                    take.push_back(ref(ws()));
                }
                take.push_back(lit(json(keys[i].first).dump() + ":"));
                take.push_back(ref(ws()));
                take.push_back(ref(keys[i].second));
                take.push_back(ref(S[i + 1][0]));
                std::vector<std::vector<Sym>> alts = {take};
                if (!required[i]) alts.push_back({ref(S[i + 1][static_cast<size_t>(f)])});
                define(S[i][static_cast<size_t>(f)], alts);
            }
        }
        return rule({{lit("{"), ref(S[0][1]), lit("}")}});
    }
    throw Error("JSON schema: unsupported type \"" + type + "\"");
}

}  // namespace

Grammar Grammar::from_schema(const json& schema) {
    Builder b;
    b.g.root = b.compile(schema);
    compute_shortest(b.g, "JSON schema");
    return std::move(b.g);
}

struct GrammarAssembler::Impl {
    Builder b;
    std::vector<std::vector<Sym>> syms(const std::vector<std::vector<Part>>& alts) {
        std::vector<std::vector<Sym>> out;
        for (const auto& alt : alts) {
            std::vector<Sym> a;
            for (const auto& p : alt) {
                if (p.kind == Part::Text) a.push_back(lit(p.text));
                else if (p.kind == Part::Rule) a.push_back(ref(p.rule));
                else a.push_back(Sym{Sym::Cls, {}, p.bytes, -1});
            }
            out.push_back(std::move(a));
        }
        return out;
    }
};

GrammarAssembler::Part GrammarAssembler::bytes_only(const std::string& allowed) {
    Part p{Part::Bytes, {}, {}, -1};
    for (unsigned char c : allowed) p.bytes[c >> 6] |= uint64_t{1} << (c & 63);
    return p;
}

GrammarAssembler::GrammarAssembler() : impl_(std::make_unique<Impl>()) {}
GrammarAssembler::~GrammarAssembler() = default;
int32_t GrammarAssembler::add_schema(const json& schema) { return impl_->b.compile(schema); }
int32_t GrammarAssembler::reserve() { return impl_->b.reserve(); }
void GrammarAssembler::define(int32_t r, const std::vector<std::vector<Part>>& alts) { impl_->b.define(r, impl_->syms(alts)); }
int32_t GrammarAssembler::add(const std::vector<std::vector<Part>>& alts) { return impl_->b.rule(impl_->syms(alts)); }

Grammar GrammarAssembler::finish(int32_t root, const std::string& what) {
    Grammar g = std::move(impl_->b.g);
    g.root = root;
    compute_shortest(g, what);
    return g;
}

JsonSchemaConstraint::JsonSchemaConstraint(const json& schema, std::shared_ptr<const TokenIndex> index)
    : GrammarConstraint(std::make_shared<const Grammar>(Grammar::from_schema(schema)), std::move(index),
                        "JSON schema constraint") {}

}  // namespace hearth::chat
