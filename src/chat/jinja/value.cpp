#include "chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace hearth::chat::jinja {

const Value* CallArgs::get_kw(const std::string& name) const {
    for (const auto& [k, v] : kw)
        if (k == name) return &v;
    return nullptr;
}

Value Value::list(List items) {
    Value v;
    v.kind_ = Kind::List;
    v.list_ = std::make_shared<List>(std::move(items));
    return v;
}

Value Value::tuple(List items) {
    Value v = list(std::move(items));
    v.kind_ = Kind::Tuple;
    return v;
}

Value Value::dict() {
    Value v;
    v.kind_ = Kind::Dict;
    v.dict_ = std::make_shared<Dict>();
    return v;
}

Value Value::namespace_() {
    Value v = dict();
    v.kind_ = Kind::Namespace;
    return v;
}

Value Value::function(std::string name, std::function<Value(CallArgs&)> fn) {
    Value v;
    v.kind_ = Kind::Callable;
    v.fn_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
    return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null: return none();
        case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: return Value(static_cast<int64_t>(j.get<uint64_t>()));
        case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
        case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
        case nlohmann::ordered_json::value_t::array: {
            List items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(from_json(e));
            return list(std::move(items));
        }
        case nlohmann::ordered_json::value_t::object: {
            Value d = dict();
            for (const auto& [k, e] : j.items()) d.dict_->entries.emplace_back(Value(k), from_json(e));
            return d;
        }
        default: return undefined();
    }
}

bool Value::truthy() const {
    switch (kind_) {
        case Kind::Undefined:
        case Kind::None: return false;
        case Kind::Bool:
        case Kind::Int: return i_ != 0;
        case Kind::Float: return f_ != 0.0;
        case Kind::String: return !s_.empty();
        case Kind::List:
        case Kind::Tuple: return !list_->empty();
        case Kind::Dict: return dict_->size() != 0;
        case Kind::Namespace:
        case Kind::Callable: return true;
    }
    return false;
}

std::string Value::type_name() const {
    switch (kind_) {
        case Kind::Undefined: return "Undefined";
        case Kind::None: return "NoneType";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::String: return "str";
        case Kind::List: return "list";
        case Kind::Tuple: return "tuple";
        case Kind::Dict: return "dict";
        case Kind::Namespace: return "Namespace";
        case Kind::Callable: return "function";
    }
    return "object";
}

std::string py_float_repr(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    if (x == 0) return std::signbit(x) ? "-0.0" : "0.0";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    std::string sign;
    if (sci[0] == '-') { sign = "-"; sci.erase(0, 1); }
    size_t epos = sci.find('e');
    std::string mant = sci.substr(0, epos);
    int exp10 = std::stoi(sci.substr(epos + 1));
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
    std::string out;
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out = "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
        } else if (static_cast<size_t>(decpt) >= digits.size()) {
            out = digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
        } else {
            out = digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
        }
    } else {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        int e = decpt - 1;
        char eb[16];
        std::snprintf(eb, sizeof eb, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        out += eb;
    }
    return sign + out;
}

std::u32string utf8_to_u32(const std::string& s) {
    std::u32string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        char32_t cp;
        size_t n;
        if (c < 0x80) { cp = c; n = 1; }
        else if ((c >> 5) == 6) { cp = c & 0x1f; n = 2; }
        else if ((c >> 4) == 14) { cp = c & 0x0f; n = 3; }
        else if ((c >> 3) == 30) { cp = c & 0x07; n = 4; }
        else { out.push_back(0xFFFD); ++i; continue; }
        if (i + n > s.size()) { out.push_back(0xFFFD); break; }
        for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        out.push_back(cp);
        i += n;
    }
    return out;
}

std::string u32_to_utf8(const std::u32string& s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t cp : s) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }
    return out;
}

size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

bool is_py_space(char32_t c) {
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

static bool py_printable(char32_t c) {
    if (c < 0x20 || c == 0x7f) return false;
    if (c >= 0x80 && c < 0xa0) return false;
    if (c == 0xad || c == 0x2028 || c == 0x2029 || (c >= 0xd800 && c < 0xe000)) return false;
    if (c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || c == 0x202f || c == 0x205f ||
        c == 0x3000 || c == 0xfeff)
        return false;
    return true;
}

std::string py_str_repr(const std::string& s) {
    bool has_sq = s.find('\'') != std::string::npos;
    bool has_dq = s.find('"') != std::string::npos;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    std::u32string u = utf8_to_u32(s);
    std::string out(1, q);
    for (char32_t c : u) {
        if (c == static_cast<char32_t>(q) || c == '\\') { out += '\\'; out += static_cast<char>(c); }
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (!py_printable(c)) {
            char buf[16];
            if (c < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
            else if (c < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            else std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += u32_to_utf8(std::u32string(1, c));
        }
    }
    out += q;
    return out;
}

std::string Value::str() const {
    switch (kind_) {
        case Kind::Undefined: return "";
        case Kind::String: return s_;
        default: return repr();
    }
}

std::string Value::repr() const {
    switch (kind_) {
        case Kind::Undefined: return "";
        case Kind::None: return "None";
        case Kind::Bool: return i_ ? "True" : "False";
        case Kind::Int: return std::to_string(i_);
        case Kind::Float: return py_float_repr(f_);
        case Kind::String: return py_str_repr(s_);
        case Kind::List:
        case Kind::Tuple: {
            std::string out = kind_ == Kind::List ? "[" : "(";
            for (size_t k = 0; k < list_->size(); ++k) {
                if (k) out += ", ";
                out += (*list_)[k].repr();
            }
            if (kind_ == Kind::Tuple && list_->size() == 1) out += ",";
            out += kind_ == Kind::List ? "]" : ")";
            return out;
        }
        case Kind::Dict:
        case Kind::Namespace: {
            std::string out = kind_ == Kind::Namespace ? "<Namespace {" : "{";
            bool first = true;
            for (const auto& [k, v] : dict_->entries) {
                if (!first) out += ", ";
                first = false;
                out += k.repr() + ": " + v.repr();
            }
            out += kind_ == Kind::Namespace ? "}>" : "}";
            return out;
        }
        case Kind::Callable: return "<function " + fn_->name + ">";
    }
    return "";
}

static void json_escape(std::string& out, const std::string& s, bool ensure_ascii) {
    out += '"';
    std::u32string u = utf8_to_u32(s);
    char buf[16];
    for (char32_t c : u) {
        switch (c) {
            case '"': out += "\\\""; continue;
            case '\\': out += "\\\\"; continue;
            case '\n': out += "\\n"; continue;
            case '\r': out += "\\r"; continue;
            case '\t': out += "\\t"; continue;
            case '\b': out += "\\b"; continue;
            case '\f': out += "\\f"; continue;
            default: break;
        }
        if (c < 0x20 || (ensure_ascii && c >= 0x7f)) {
            if (c >= 0x10000) {
                char32_t v = c - 0x10000;
                std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xd800 | (v >> 10)),
                              static_cast<unsigned>(0xdc00 | (v & 0x3ff)));
            } else {
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            }
            out += buf;
        } else {
            out += u32_to_utf8(std::u32string(1, c));
        }
    }
    out += '"';
}

static std::string json_float(double f) {
    if (std::isnan(f)) return "NaN";
    if (std::isinf(f)) return f > 0 ? "Infinity" : "-Infinity";
    return py_float_repr(f);
}

static std::string json_key(const Value& k) {
    switch (k.kind()) {
        case Value::Kind::String: return k.str_ref();
        case Value::Kind::None: return "null";
        case Value::Kind::Bool: return k.as_bool() ? "true" : "false";
        case Value::Kind::Int: return std::to_string(k.as_int());
        case Value::Kind::Float: return json_float(k.as_float());
        default: throw std::runtime_error("keys must be str, int, float, bool or None, not " + k.type_name());
    }
}

std::string Value::dumps(const JsonOptions& o) const {
    std::string item_sep = o.indent ? "," : ", ";
    std::string key_sep = ": ";
    if (o.separators) { item_sep = o.separators->first; key_sep = o.separators->second; }
    std::string out;
    dump_to(out, o, item_sep, key_sep, 0);
    return out;
}

void Value::dump_to(std::string& out, const JsonOptions& o, const std::string& item_sep,
                    const std::string& key_sep, int depth) const {
    auto newline = [&](int d) {
        out += '\n';
        for (int k = 0; k < d; ++k) out += *o.indent;
    };
    switch (kind_) {
        case Kind::None: out += "null"; return;
        case Kind::Bool: out += i_ ? "true" : "false"; return;
        case Kind::Int: out += std::to_string(i_); return;
        case Kind::Float: out += json_float(f_); return;
        case Kind::String: json_escape(out, s_, o.ensure_ascii); return;
        case Kind::List:
        case Kind::Tuple: {
            if (list_->empty()) { out += "[]"; return; }
            out += '[';
            for (size_t k = 0; k < list_->size(); ++k) {
                if (k) out += item_sep;
                if (o.indent) newline(depth + 1);
                (*list_)[k].dump_to(out, o, item_sep, key_sep, depth + 1);
            }
            if (o.indent) newline(depth);
            out += ']';
            return;
        }
        case Kind::Dict: {
            if (dict_->size() == 0) { out += "{}"; return; }
            std::vector<std::pair<std::string, const Value*>> kv;
            for (const auto& [k, v] : dict_->entries) kv.emplace_back(json_key(k), &v);
            if (o.sort_keys)
                std::stable_sort(kv.begin(), kv.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            out += '{';
            for (size_t k = 0; k < kv.size(); ++k) {
                if (k) out += item_sep;
                if (o.indent) newline(depth + 1);
                json_escape(out, kv[k].first, o.ensure_ascii);
                out += key_sep;
                kv[k].second->dump_to(out, o, item_sep, key_sep, depth + 1);
            }
            if (o.indent) newline(depth);
            out += '}';
            return;
        }
        default: throw std::runtime_error("Object of type " + type_name() + " is not JSON serializable");
    }
}

bool operator==(const Value& a, const Value& b) {
    using K = Value::Kind;
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.kind_ == K::Undefined || b.kind_ == K::Undefined) return a.kind_ == b.kind_;
    if (a.is_list() && b.is_list()) {
        if (a.kind_ != b.kind_ || a.list_->size() != b.list_->size()) return false;
        for (size_t k = 0; k < a.list_->size(); ++k)
            if (!((*a.list_)[k] == (*b.list_)[k])) return false;
        return true;
    }
    if (a.kind_ != b.kind_) return false;
    switch (a.kind_) {
        case K::None: return true;
        case K::String: return a.s_ == b.s_;
        case K::Dict: {
            if (a.dict_->size() != b.dict_->size()) return false;
            for (const auto& [k, v] : a.dict_->entries) {
                const Value* o = b.dict_->find(k);
                if (!o || !(*o == v)) return false;
            }
            return true;
        }
        case K::Namespace: return a.dict_ == b.dict_;
        case K::Callable: return a.fn_ == b.fn_;
        default: return false;
    }
}

const Value* Dict::find(const Value& key) const {
    for (const auto& e : entries)
        if (e.first == key) return &e.second;
    return nullptr;
}

Value* Dict::find(const Value& key) {
    for (auto& e : entries)
        if (e.first == key) return &e.second;
    return nullptr;
}

void Dict::set(const Value& key, Value v) {
    if (Value* e = find(key)) *e = std::move(v);
    else entries.emplace_back(key, std::move(v));
}

}  // namespace hearth::chat::jinja
