// The evaluator: scopes, statements, expressions, and jinja2's filters, tests and the
// Python methods templates call. Semantics follow jinja2 3.1 with the default Undefined
// and ImmutableSandboxedEnvironment, which is what transformers renders chat templates with.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <unordered_map>

#include "chat/jinja/template.h"
#include "core/error.h"
#include "core/html_escape.h"

namespace hearth::chat::jinja {

namespace {

// A run-time error without a line; the expression or statement that sees it adds the line.
struct EvalError {
    std::string msg;
};
[[noreturn]] void raise(const std::string& msg) { throw EvalError{msg}; }

// raise_exception() in a template: its message is passed through untouched.
struct TemplateRaise {
    std::string msg;
};

// Scopes belong to the render (Interp::scopes_), not to each other or to the closures that
// see them: a macro stored in the scope it was defined in would otherwise own that scope
// through its closure and the scope would own the macro, a cycle no reference count frees.
struct Scope {
    std::unordered_map<std::string, Value> vars;
    Scope* parent = nullptr;
    const Value* lookup(const std::string& n) const {
        for (const Scope* s = this; s; s = s->parent) {
            auto it = s->vars.find(n);
            if (it != s->vars.end()) return &it->second;
        }
        return nullptr;
    }
};
using ScopePtr = Scope*;

[[noreturn]] void fail_undefined(const Value& v) {
    raise(v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
}

std::string obj_desc(const Value& v) { return "'" + v.type_name() + " object'"; }

// ---- Python string helpers (code-point aware) ----

std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
    std::u32string u = utf8_to_u32(s);
    std::u32string set;
    bool ws = !chars || chars->is_none() || chars->is_undefined();
    if (!ws) {
        if (!chars->is_string()) raise("strip arg must be None or str");
        set = utf8_to_u32(chars->str_ref());
    }
    auto strip_it = [&](char32_t c) { return ws ? is_py_space(c) : set.find(c) != std::u32string::npos; };
    size_t b = 0, e = u.size();
    if (left)
        while (b < e && strip_it(u[b])) ++b;
    if (right)
        while (e > b && strip_it(u[e - 1])) --e;
    return u32_to_utf8(u.substr(b, e - b));
}

std::vector<std::string> py_split(const std::string& s, const Value* sep, int64_t maxsplit, bool from_right) {
    std::vector<std::string> out;
    if (!sep || sep->is_none()) {
        std::u32string u = utf8_to_u32(s);
        std::vector<std::u32string> parts;
        if (!from_right) {
            size_t i = 0;
            while (true) {
                while (i < u.size() && is_py_space(u[i])) ++i;
                if (i >= u.size()) break;
                if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
                    size_t e = u.size();
                    while (e > i && is_py_space(u[e - 1])) --e;
                    parts.push_back(u.substr(i, e - i));
                    break;
                }
                size_t j = i;
                while (j < u.size() && !is_py_space(u[j])) ++j;
                parts.push_back(u.substr(i, j - i));
                i = j;
            }
        } else {
            size_t e = u.size();
            while (true) {
                while (e > 0 && is_py_space(u[e - 1])) --e;
                if (e == 0) break;
                if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
                    size_t b = 0;
                    while (b < e && is_py_space(u[b])) ++b;
                    parts.push_back(u.substr(b, e - b));
                    break;
                }
                size_t j = e;
                while (j > 0 && !is_py_space(u[j - 1])) --j;
                parts.push_back(u.substr(j, e - j));
                e = j;
            }
            std::reverse(parts.begin(), parts.end());
        }
        for (auto& p : parts) out.push_back(u32_to_utf8(p));
        return out;
    }
    if (!sep->is_string()) raise("must be str or None, not " + sep->type_name());
    const std::string& d = sep->str_ref();
    if (d.empty()) raise("empty separator");
    if (!from_right) {
        size_t i = 0;
        while (true) {
            size_t j = s.find(d, i);
            if (j == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) {
                out.push_back(s.substr(i));
                break;
            }
            out.push_back(s.substr(i, j - i));
            i = j + d.size();
        }
    } else {
        size_t e = s.size();
        while (true) {
            size_t j = e >= d.size() ? s.rfind(d, e - d.size()) : std::string::npos;
            if (j == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) {
                out.push_back(s.substr(0, e));
                break;
            }
            out.push_back(s.substr(j + d.size(), e - j - d.size()));
            e = j;
        }
        std::reverse(out.begin(), out.end());
    }
    return out;
}

std::string py_replace(const std::string& s, const std::string& a, const std::string& b, int64_t count) {
    std::string out;
    if (a.empty()) {
        // Python inserts `b` between every code point (and at both ends).
        std::u32string u = utf8_to_u32(s);
        int64_t n = 0;
        for (size_t k = 0; k <= u.size(); ++k) {
            if (count < 0 || n < count) { out += b; ++n; }
            if (k < u.size()) out += u32_to_utf8(std::u32string(1, u[k]));
        }
        return out;
    }
    size_t i = 0;
    int64_t n = 0;
    while (true) {
        size_t j = s.find(a, i);
        if (j == std::string::npos || (count >= 0 && n >= count)) break;
        out += s.substr(i, j - i) + b;
        i = j + a.size();
        ++n;
    }
    return out + s.substr(i);
}

char32_t u_upper(char32_t c) { return (c >= 'a' && c <= 'z') ? c - 32 : c; }
char32_t u_lower(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

std::string str_upper(const std::string& s) {
    std::string o = s;
    for (char& c : o) if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return o;
}
std::string str_lower(const std::string& s) {
    std::string o = s;
    for (char& c : o) if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return o;
}
std::string str_capitalize(const std::string& s) {
    std::u32string u = utf8_to_u32(s);
    for (size_t k = 0; k < u.size(); ++k) u[k] = k == 0 ? u_upper(u[k]) : u_lower(u[k]);
    return u32_to_utf8(u);
}
// Python's str.title(): a letter after a non-letter is upper-cased, others lower-cased.
std::string str_title(const std::string& s) {
    std::u32string u = utf8_to_u32(s);
    bool prev_cased = false;
    for (auto& c : u) {
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (letter) c = prev_cased ? u_lower(c) : u_upper(c);
        prev_cased = letter;
    }
    return u32_to_utf8(u);
}

int64_t py_floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}
int64_t py_mod(int64_t a, int64_t b) {
    int64_t m = a % b;
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

int64_t len_of(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return 0;
        case Value::Kind::String: return static_cast<int64_t>(utf8_length(v.str_ref()));
        case Value::Kind::List:
        case Value::Kind::Tuple: return static_cast<int64_t>(v.items().size());
        case Value::Kind::Dict: return static_cast<int64_t>(v.dict_ref().size());
        default: raise("object of type '" + v.type_name() + "' has no len()");
    }
}

// Python's iter(): the items a for loop or a filter walks over.
List iterate(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return {};
        case Value::Kind::List:
        case Value::Kind::Tuple: return v.items();
        case Value::Kind::Dict: {
            List keys;
            for (const auto& e : v.dict_ref().entries) keys.push_back(e.first);
            return keys;
        }
        case Value::Kind::String: {
            List chars;
            for (char32_t c : utf8_to_u32(v.str_ref())) chars.push_back(Value(u32_to_utf8(std::u32string(1, c))));
            return chars;
        }
        default: raise("'" + v.type_name() + "' object is not iterable");
    }
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind()) {
        case Value::Kind::Undefined: return false;  // iter(Undefined) is empty
        case Value::Kind::String:
            if (!item.is_string())
                raise("'in <string>' requires string as left operand, not " + item.type_name());
            return container.str_ref().find(item.str_ref()) != std::string::npos;
        case Value::Kind::List:
        case Value::Kind::Tuple:
            for (const auto& e : container.items())
                if (e == item) return true;
            return false;
        case Value::Kind::Dict: return container.dict_ref().find(item) != nullptr;
        default: raise("argument of type '" + container.type_name() + "' is not iterable");
    }
}

int compare(const Value& a, const Value& b, const std::string& op) {
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) {
            double x = a.as_float(), y = b.as_float();
            return x < y ? -1 : x > y ? 1 : 0;
        }
        return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) {
        int c = a.str_ref().compare(b.str_ref());
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.kind() == b.kind() && a.is_list()) {
        const List &x = a.items(), &y = b.items();
        for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
            if (x[k] == y[k]) continue;
            return compare(x[k], y[k], op);
        }
        return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    }
    raise("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

// Python's slice semantics on a sequence of n items.
std::vector<size_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step) {
    auto as_idx = [](const Value& v, const char* what) -> std::optional<int64_t> {
        if (v.is_none() || v.is_undefined()) return std::nullopt;
        if (!v.is_int() && !v.is_bool()) raise(std::string("slice ") + what + " must be an integer or None");
        return v.as_int();
    };
    int64_t st = as_idx(step, "step").value_or(1);
    if (st == 0) raise("slice step cannot be zero");
    auto b0 = as_idx(start, "start"), e0 = as_idx(stop, "stop");
    int64_t b, e;
    auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
        if (v < 0) v += n;
        return std::clamp(v, lo, hi);
    };
    if (st > 0) {
        b = b0 ? clamp(*b0, 0, n) : 0;
        e = e0 ? clamp(*e0, 0, n) : n;
    } else {
        b = b0 ? clamp(*b0, -1, n - 1) : n - 1;
        e = e0 ? clamp(*e0, -1, n - 1) : -1;
    }
    std::vector<size_t> idx;
    if (st > 0)
        for (int64_t i = b; i < e; i += st) idx.push_back(static_cast<size_t>(i));
    else
        for (int64_t i = b; i > e; i += st) idx.push_back(static_cast<size_t>(i));
    return idx;
}


// Python's printf-style `str % args` (what `'%s: %d' % (name, n)` does in a template).
std::string percent_format(const std::string& fmt, const Value& arg) {
    List args;
    const bool mapping = arg.is_dict();
    if (arg.kind() == Value::Kind::Tuple) args = arg.items();
    else args.push_back(arg);
    size_t next = 0;
    bool used_key = false;
    auto take = [&]() -> const Value& {
        if (next >= args.size()) raise("not enough arguments for format string");
        return args[next++];
    };
    auto pad = [](std::string body, size_t width, bool left, char fill, size_t sign_len) {
        size_t len = utf8_length(body);
        if (len >= width) return body;
        const size_t n = width - len;
        if (left) return body + std::string(n, ' ');
        if (fill == '0') return body.substr(0, sign_len) + std::string(n, '0') + body.substr(sign_len);
        return std::string(n, ' ') + body;
    };
    std::string out;
    size_t i = 0;
    while (i < fmt.size()) {
        if (fmt[i] != '%') {
            out += fmt[i++];
            continue;
        }
        ++i;
        if (i >= fmt.size()) raise("incomplete format");
        const Value* v = nullptr;
        if (fmt[i] == '(') {
            size_t close = fmt.find(')', i);
            if (close == std::string::npos) raise("incomplete format key");
            if (!mapping) raise("format requires a mapping");
            const Value* found = arg.dict_ref().find(Value(fmt.substr(i + 1, close - i - 1)));
            if (!found) raise("KeyError: " + py_str_repr(fmt.substr(i + 1, close - i - 1)));
            v = found;
            used_key = true;
            i = close + 1;
        }
        bool left = false, plus = false, space = false, alt = false, zero = false;
        for (; i < fmt.size(); ++i) {
            const char f = fmt[i];
            if (f == '-') left = true;
            else if (f == '+') plus = true;
            else if (f == ' ') space = true;
            else if (f == '#') alt = true;
            else if (f == '0') zero = true;
            else break;
        }
        auto number = [&](const char* what) -> int64_t {
            if (i < fmt.size() && fmt[i] == '*') {
                ++i;
                const Value& w = take();
                if (!w.is_int() && !w.is_bool()) raise(std::string("* wants int"));
                return w.as_int();
            }
            int64_t n = 0;
            while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
                n = n * 10 + (fmt[i++] - '0');
                if (n > 100000) raise(std::string(what) + " too big");
            }
            return n;
        };
        int64_t width = number("width");
        if (width < 0) {
            left = true;
            width = -width;
        }
        int64_t prec = -1;
        if (i < fmt.size() && fmt[i] == '.') {
            ++i;
            prec = std::max<int64_t>(0, number("precision"));
        }
        while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
        if (i >= fmt.size()) raise("incomplete format");
        const char conv = fmt[i++];
        if (conv == '%') {
            out += '%';
            continue;
        }
        if (!v) v = &take();
        const size_t w = static_cast<size_t>(width);
        switch (conv) {
            case 's': case 'r': case 'a': {
                std::string t = conv == 's' ? v->str() : v->repr();
                if (prec >= 0) t = u32_to_utf8(utf8_to_u32(t).substr(0, static_cast<size_t>(prec)));
                out += pad(t, w, left, ' ', 0);
                break;
            }
            case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': {
                const bool dec = conv == 'd' || conv == 'i' || conv == 'u';
                int64_t n;
                if (v->is_int() || v->is_bool()) n = v->as_int();
                else if (v->is_float() && dec) n = static_cast<int64_t>(std::trunc(v->as_float()));
                else if (dec) raise(std::string("%") + conv + " format: a real number is required, not " + v->type_name());
                else raise(std::string("%") + conv + " format: an integer is required, not " + v->type_name());
                const uint64_t mag = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
                std::string digits;
                const unsigned base = dec ? 10 : conv == 'o' ? 8 : 16;
                const char* set = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
                for (uint64_t m = mag; digits.empty() || m > 0; m /= base) digits.insert(digits.begin(), set[m % base]);
                if (prec > static_cast<int64_t>(digits.size())) digits.insert(0, static_cast<size_t>(prec) - digits.size(), '0');
                std::string sign = n < 0 ? "-" : plus ? "+" : space ? " " : "";
                if (alt && !dec) sign += conv == 'o' ? "0o" : conv == 'x' ? "0x" : "0X";
                out += pad(sign + digits, w, left, zero ? '0' : ' ', sign.size());
                break;
            }
            case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': {
                if (!v->is_number()) raise("must be real number, not " + v->type_name());
                std::string spec = "%";
                if (plus) spec += '+';
                if (space) spec += ' ';
                if (alt) spec += '#';
                spec += "." + std::to_string(prec < 0 ? 6 : prec) + conv;
                char buf[512];
                std::snprintf(buf, sizeof buf, spec.c_str(), v->as_float());
                std::string t = buf;
                size_t sign_len = (!t.empty() && (t[0] == '-' || t[0] == '+' || t[0] == ' ')) ? 1 : 0;
                bool finite = std::isfinite(v->as_float());
                out += pad(t, w, left, zero && finite ? '0' : ' ', sign_len);
                break;
            }
            case 'c': {
                std::string t;
                if (v->is_int()) {
                    if (v->as_int() < 0 || v->as_int() > 0x10FFFF) raise("%c arg not in range(0x110000)");
                    t = u32_to_utf8(std::u32string(1, static_cast<char32_t>(v->as_int())));
                } else if (v->is_string() && utf8_length(v->str_ref()) == 1) {
                    t = v->str_ref();
                } else {
                    raise("%c requires an int or a unicode character");
                }
                out += pad(t, w, left, ' ', 0);
                break;
            }
            default: {
                char hex[8];
                std::snprintf(hex, sizeof hex, "%x", static_cast<unsigned char>(conv));
                raise(std::string("unsupported format character '") + conv + "' (0x" + hex + ") at index " +
                      std::to_string(i - 1));
            }
        }
    }
    if (!mapping && !used_key && next < args.size()) raise("not all arguments converted during string formatting");
    return out;
}

class Interp {
public:
    std::shared_ptr<Body> body;

    Interp() = default;
    Interp(const Interp&) = delete;
    Interp& operator=(const Interp&) = delete;
    // Breaks what reference counting cannot: scope variables first (macros, callers), then
    // the namespaces made during this render, which a template can make refer to themselves
    // (`ns.me = ns`) or hold a macro. A closure that outlives the render finds `alive_`
    // expired and raises instead of touching freed scopes.
    ~Interp() {
        alive_.reset();
        for (auto& sc : scopes_) sc->vars.clear();
        for (auto& ns : namespaces_) ns.dict_ref().entries.clear();
    }

    Scope* new_scope(Scope* parent) {
        scopes_.push_back(std::make_unique<Scope>());
        scopes_.back()->parent = parent;
        return scopes_.back().get();
    }

    enum class Flow { Normal, Break, Continue };

    Flow exec(const Body& b, const ScopePtr& sc, std::string& out) {
        for (const auto& s : b) {
            Flow f = exec_stmt(*s, sc, out);
            if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
    }

    Flow exec_stmt(const Stmt& s, const ScopePtr& sc, std::string& out) {
        try {
            tick();
            Flow f = exec_stmt_impl(s, sc, out);
            check_text_size(out.size());
            return f;
        } catch (const EvalError& e) {
            throw Error("template line " + std::to_string(s.line) + ": " + e.msg);
        }
    }

    Value eval(const Expr& e, const ScopePtr& sc) {
        try {
            tick();
            return eval_impl(e, sc);
        } catch (const EvalError& err) {
            throw Error("template line " + std::to_string(e.line) + ": " + err.msg);
        } catch (const TemplateRaise& r) {
            throw Error("template line " + std::to_string(e.line) + ": raise_exception: " + r.msg);
        }
    }

private:
    // A chat template comes inside the model file, so it is untrusted code: a render gets a
    // fixed budget of statements + expressions and of text, far above what real templates use
    // (thousands of steps per message, kilobytes of prompt), so that a hostile or broken template
    // fails with a message instead of hanging the server or exhausting its memory.
    static constexpr uint64_t kMaxSteps = 10'000'000;
    static constexpr size_t kMaxText = size_t{64} << 20;
    static constexpr uint64_t kLoopIterationCost = 100;  // building `loop` costs ~100 simple steps
    uint64_t steps_ = 0;

    void tick(uint64_t cost = 1) {
        steps_ += cost;
        if (steps_ > kMaxSteps)
            raise("template exceeded its execution budget (" + std::to_string(kMaxSteps) +
                  " statements and expressions)");
    }
    static void check_text_size(size_t n) {
        if (n > kMaxText) raise("template output exceeds " + std::to_string(kMaxText >> 20) + " MiB");
    }

    std::vector<std::unique_ptr<Scope>> scopes_;
    std::vector<Value> namespaces_;
    std::shared_ptr<char> alive_ = std::make_shared<char>(0);

    void assign(const ScopePtr& sc, const std::vector<std::string>& targets, const Value& v) {
        if (targets.size() == 1) {
            sc->vars[targets[0]] = v;
            return;
        }
        List items = iterate(v);
        if (items.size() != targets.size())
            raise(items.size() < targets.size()
                      ? "not enough values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                            std::to_string(items.size()) + ")"
                      : "too many values to unpack (expected " + std::to_string(targets.size()) + ")");
        for (size_t k = 0; k < targets.size(); ++k) sc->vars[targets[k]] = items[k];
    }

    Flow exec_stmt_impl(const Stmt& s, const ScopePtr& sc, std::string& out) {
        switch (s.kind) {
            case Stmt::Kind::Text: out += s.text; return Flow::Normal;
            case Stmt::Kind::Output: out += eval(*s.expr, sc).str(); return Flow::Normal;
            case Stmt::Kind::If:
                for (size_t k = 0; k < s.conds.size(); ++k)
                    if (eval(*s.conds[k], sc).truthy()) return exec(s.bodies[k], sc, out);
                return exec(s.else_body, sc, out);
            case Stmt::Kind::For: return exec_for(s, sc, out);
            case Stmt::Kind::Set: {
                Value v;
                if (s.expr) {
                    v = eval(*s.expr, sc);
                } else {
                    std::string buf;
                    exec(s.body, sc, buf);
                    v = Value(buf);
                }
                if (s.ns_target) {
                    Value ns = eval(*s.ns_target, sc);
                    if (!ns.is_namespace()) raise("cannot assign attribute on non-namespace object");
                    ns.dict_ref().set(Value(s.ns_attr), v);
                } else {
                    assign(sc, s.targets, v);
                }
                return Flow::Normal;
            }
            case Stmt::Kind::Macro: sc->vars[s.name] = make_macro(s, sc); return Flow::Normal;
            case Stmt::Kind::CallBlock: {
                const Expr& call = *s.expr;
                Value fn = eval(*call.a, sc);
                CallArgs args = eval_args(call, sc);
                const Stmt* blk = &s;
                std::weak_ptr<char> alive = alive_;
                args.kw.emplace_back("caller", Value::function("caller", [this, blk, sc, alive](CallArgs&) {
                    if (alive.expired()) raise("caller() called after its template finished rendering");
                    std::string buf;
                    Scope* inner = new_scope(sc);
                    exec(blk->body, inner, buf);
                    return Value(buf);
                }));
                out += call_value(fn, args).str();
                return Flow::Normal;
            }
            case Stmt::Kind::FilterBlock: {
                std::string buf;
                exec(s.body, sc, buf);
                out += apply_filter_chain(*s.expr, Value(buf), sc).str();
                return Flow::Normal;
            }
            case Stmt::Kind::Generation: return exec(s.body, sc, out);
            case Stmt::Kind::Break: return Flow::Break;
            case Stmt::Kind::Continue: return Flow::Continue;
        }
        return Flow::Normal;
    }

    Value apply_filter_chain(const Expr& f, Value input, const ScopePtr& sc) {
        if (f.a) input = apply_filter_chain(*f.a, std::move(input), sc);
        CallArgs args = eval_args(f, sc);
        return filter(f.name, input, args, sc);
    }

    Flow exec_for(const Stmt& s, const ScopePtr& sc, std::string& out) {
        Value seq = eval(*s.expr, sc);
        List items = iterate(seq);
        Scope* ls = new_scope(sc);
        if (s.cond) {
            List kept;
            for (const auto& it : items) {
                assign(ls, s.targets, it);
                if (eval(*s.cond, ls).truthy()) kept.push_back(it);
            }
            items = std::move(kept);
        }
        const size_t n = items.size();
        for (size_t k = 0; k < n; ++k) {
            tick(kLoopIterationCost);
            assign(ls, s.targets, items[k]);
            Value loop = Value::dict();
            Dict& d = loop.dict_ref();
            d.set(Value("index"), Value(static_cast<int64_t>(k + 1)));
            d.set(Value("index0"), Value(static_cast<int64_t>(k)));
            d.set(Value("revindex"), Value(static_cast<int64_t>(n - k)));
            d.set(Value("revindex0"), Value(static_cast<int64_t>(n - k - 1)));
            d.set(Value("first"), Value(k == 0));
            d.set(Value("last"), Value(k + 1 == n));
            d.set(Value("length"), Value(static_cast<int64_t>(n)));
            d.set(Value("depth"), Value(1));
            d.set(Value("depth0"), Value(0));
            if (k > 0) d.set(Value("previtem"), items[k - 1]);
            if (k + 1 < n) d.set(Value("nextitem"), items[k + 1]);
            d.set(Value("cycle"), Value::function("cycle", [k](CallArgs& a) {
                if (a.pos.empty()) raise("no items for cycling given");
                return a.pos[k % a.pos.size()];
            }));
            ls->vars["loop"] = loop;
            Flow f = exec(s.body, ls, out);
            if (f == Flow::Break) break;
        }
        if (n == 0) exec(s.else_body, ls, out);
        return Flow::Normal;
    }

    Value make_macro(const Stmt& s, const ScopePtr& def_scope) {
        const Stmt* m = &s;
        std::weak_ptr<char> alive = alive_;
        return Value::function(s.name, [this, m, def_scope, alive](CallArgs& a) {
            if (alive.expired()) raise("macro '" + m->name + "' called after its template finished rendering");
            Scope* ms = new_scope(def_scope);
            if (a.pos.size() > m->params.size())
                raise("macro '" + m->name + "' takes not more than " + std::to_string(m->params.size()) +
                      " argument(s)");
            std::vector<bool> given(m->params.size(), false);
            for (size_t k = 0; k < a.pos.size(); ++k) {
                ms->vars[m->params[k].first] = a.pos[k];
                given[k] = true;
            }
            for (auto& [k, v] : a.kw) {
                if (k == "caller") { ms->vars["caller"] = v; continue; }
                bool found = false;
                for (size_t p = 0; p < m->params.size(); ++p) {
                    if (m->params[p].first == k) {
                        ms->vars[k] = v;
                        given[p] = true;
                        found = true;
                    }
                }
                if (!found) raise("macro '" + m->name + "' takes no keyword argument '" + k + "'");
            }
            for (size_t p = 0; p < m->params.size(); ++p) {
                if (given[p]) continue;
                const auto& [name, def] = m->params[p];
                ms->vars[name] = def ? eval(*def, ms) : Value::undefined("parameter '" + name + "' was not provided");
            }
            std::string buf;
            exec(m->body, ms, buf);
            return Value(buf);
        });
    }

    CallArgs eval_args(const Expr& e, const ScopePtr& sc) {
        CallArgs a;
        for (const auto& x : e.args) a.pos.push_back(eval(*x, sc));
        for (const auto& [k, x] : e.kwargs) a.kw.emplace_back(k, eval(*x, sc));
        return a;
    }

    Value call_value(const Value& fn, CallArgs& args) {
        if (fn.is_undefined()) fail_undefined(fn);
        if (!fn.is_callable()) raise("'" + fn.type_name() + "' object is not callable");
        return fn.callable().fn(args);
    }

    Value eval_impl(const Expr& e, const ScopePtr& sc) {
        switch (e.kind) {
            case Expr::Kind::Literal: return e.value;
            case Expr::Kind::Name: {
                const Value* v = sc->lookup(e.name);
                if (v) return *v;
                if (e.name == "range") return builtin_range();
                if (e.name == "namespace") return builtin_namespace();
                if (e.name == "dict") return builtin_dict();
                return Value::undefined("'" + e.name + "' is undefined");
            }
            case Expr::Kind::ListLit:
            case Expr::Kind::TupleLit: {
                List items;
                for (const auto& x : e.args) items.push_back(eval(*x, sc));
                return e.kind == Expr::Kind::ListLit ? Value::list(std::move(items)) : Value::tuple(std::move(items));
            }
            case Expr::Kind::DictLit: {
                Value d = Value::dict();
                for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
                    Value key = eval(*e.args[k], sc);
                    if (key.is_list() && key.kind() == Value::Kind::List) raise("unhashable type: 'list'");
                    d.dict_ref().set(key, eval(*e.args[k + 1], sc));
                }
                return d;
            }
            case Expr::Kind::Attr: return getattr(eval(*e.a, sc), e.name);
            case Expr::Kind::Subscript: return getitem(eval(*e.a, sc), eval(*e.b, sc));
            case Expr::Kind::Slice: {
                Value obj = eval(*e.a, sc);
                Value bounds[3];
                for (int k = 0; k < 3; ++k) bounds[k] = e.args[k] ? eval(*e.args[k], sc) : Value::none();
                if (obj.is_undefined()) fail_undefined(obj);
                if (obj.is_string()) {
                    std::u32string u = utf8_to_u32(obj.str_ref());
                    std::u32string r;
                    for (size_t i : slice_indices(static_cast<int64_t>(u.size()), bounds[0], bounds[1], bounds[2]))
                        r += u[i];
                    return Value(u32_to_utf8(r));
                }
                if (obj.is_list()) {
                    List r;
                    for (size_t i : slice_indices(static_cast<int64_t>(obj.items().size()), bounds[0], bounds[1], bounds[2]))
                        r.push_back(obj.items()[i]);
                    return obj.kind() == Value::Kind::Tuple ? Value::tuple(std::move(r)) : Value::list(std::move(r));
                }
                return Value::undefined(obj_desc(obj) + " has no slice");
            }
            case Expr::Kind::Call: {
                CallArgs args = eval_args(e, sc);
                Value fn = eval(*e.a, sc);
                return call_value(fn, args);
            }
            case Expr::Kind::Filter: {
                Value in = eval(*e.a, sc);
                CallArgs args = eval_args(e, sc);
                return filter(e.name, in, args, sc);
            }
            case Expr::Kind::Test: {
                Value in = eval(*e.a, sc);
                CallArgs args = eval_args(e, sc);
                bool r = test(e.name, in, args);
                return Value(e.negated ? !r : r);
            }
            case Expr::Kind::Unary: {
                Value v = eval(*e.a, sc);
                if (e.name == "not") return Value(!v.truthy());
                if (v.is_undefined()) fail_undefined(v);
                if (!v.is_number()) raise("bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
                if (e.name == "+") return v.is_bool() ? Value(v.as_int()) : v;
                return v.is_float() ? Value(-v.as_float()) : Value(-v.as_int());
            }
            case Expr::Kind::Binary: return binary(e, sc);
            case Expr::Kind::Compare: {
                Value l = eval(*e.a, sc);
                for (const auto& [op, x] : e.kwargs) {
                    Value r = eval(*x, sc);
                    if (!compare_op(op, l, r)) return Value(false);
                    l = std::move(r);
                }
                return Value(true);
            }
            case Expr::Kind::Cond:
                if (eval(*e.b, sc).truthy()) return eval(*e.a, sc);
                if (e.c) return eval(*e.c, sc);
                return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                        " evaluated to false and no else section was defined.");
        }
        return Value();
    }

    Value binary(const Expr& e, const ScopePtr& sc) {
        const std::string& op = e.name;
        if (op == "and") {
            Value l = eval(*e.a, sc);
            return l.truthy() ? eval(*e.b, sc) : l;
        }
        if (op == "or") {
            Value l = eval(*e.a, sc);
            return l.truthy() ? l : eval(*e.b, sc);
        }
        Value l = eval(*e.a, sc);
        Value r = eval(*e.b, sc);
        if (op == "~") {
            std::string a = l.str(), b = r.str();
            check_text_size(a.size() + b.size());
            return Value(a + b);
        }
        if (op == "==" || op == "!=" || op == "in" || op == "not in" || op == "<" || op == ">" || op == "<=" ||
            op == ">=")
            return Value(compare_op(op, l, r));
        if (l.is_undefined()) fail_undefined(l);
        if (r.is_undefined()) fail_undefined(r);
        auto type_err = [&]() -> Value {
            if (op == "+" && l.is_string())
                raise("can only concatenate str (not \"" + r.type_name() + "\") to str");
            if (op == "+" && l.kind() == Value::Kind::List)
                raise("can only concatenate list (not \"" + r.type_name() + "\") to list");
            raise("unsupported operand type(s) for " + op + ": '" + l.type_name() + "' and '" + r.type_name() + "'");
        };
        if (l.is_number() && r.is_number()) {
            bool fl = l.is_float() || r.is_float();
            if (op == "/") {
                if (r.as_float() == 0) raise("division by zero");
                return Value(l.as_float() / r.as_float());
            }
            if (op == "**") {
                if (!fl && r.as_int() >= 0) {
                    int64_t res = 1;
                    for (int64_t k = 0; k < r.as_int(); ++k) res *= l.as_int();
                    return Value(res);
                }
                return Value(std::pow(l.as_float(), r.as_float()));
            }
            if (fl) {
                double x = l.as_float(), y = r.as_float();
                if (op == "+") return Value(x + y);
                if (op == "-") return Value(x - y);
                if (op == "*") return Value(x * y);
                if (y == 0) raise("float division by zero");
                if (op == "//") return Value(std::floor(x / y));
                if (op == "%") {
                    double m = std::fmod(x, y);
                    if (m != 0 && ((m < 0) != (y < 0))) m += y;
                    return Value(m);
                }
            } else {
                int64_t x = l.as_int(), y = r.as_int();
                if (op == "+") return Value(x + y);
                if (op == "-") return Value(x - y);
                if (op == "*") return Value(x * y);
                if (y == 0) raise("integer division or modulo by zero");
                if (op == "//") return Value(py_floordiv(x, y));
                if (op == "%") return Value(py_mod(x, y));
            }
            return type_err();
        }
        if (op == "+") {
            if (l.is_string() && r.is_string()) return Value(l.str_ref() + r.str_ref());
            if (l.is_list() && l.kind() == r.kind()) {
                List out = l.items();
                out.insert(out.end(), r.items().begin(), r.items().end());
                return l.kind() == Value::Kind::List ? Value::list(std::move(out)) : Value::tuple(std::move(out));
            }
            return type_err();
        }
        if (op == "*") {
            const Value& seq = l.is_number() ? r : l;
            const Value& cnt = l.is_number() ? l : r;
            if ((cnt.is_int() || cnt.is_bool()) && (seq.is_string() || seq.is_list())) {
                int64_t n = std::max<int64_t>(0, cnt.as_int());
                const size_t unit = seq.is_string() ? seq.str_ref().size() : seq.items().size() * sizeof(Value);
                if (n > 0 && unit > 0 && static_cast<uint64_t>(n) > kMaxText / unit) check_text_size(kMaxText + 1);
                if (seq.is_string()) {
                    std::string o;
                    for (int64_t k = 0; k < n; ++k) o += seq.str_ref();
                    return Value(o);
                }
                List o;
                for (int64_t k = 0; k < n; ++k) o.insert(o.end(), seq.items().begin(), seq.items().end());
                return seq.kind() == Value::Kind::List ? Value::list(std::move(o)) : Value::tuple(std::move(o));
            }
        }
        if (op == "%" && l.is_string()) return Value(percent_format(l.str_ref(), r));
        return type_err();
    }

    static bool compare_op(const std::string& op, const Value& l, const Value& r) {
        if (op == "==") return l == r;
        if (op == "!=") return !(l == r);
        if (op == "in") return contains(r, l);
        if (op == "not in") return !contains(r, l);
        const int c = compare(l, r, op);
        if (op == "<") return c < 0;
        if (op == ">") return c > 0;
        if (op == "<=") return c <= 0;
        return c >= 0;
    }

    // ---- attribute and item access (jinja2's sandboxed getattr / getitem) ----

    Value unsafe(const Value& obj, const std::string& name) {
        std::string msg = "access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.";
        return Value::function(name, [msg](CallArgs&) -> Value { raise(msg); });
    }

    Value getattr(const Value& obj, const std::string& name) {
        switch (obj.kind()) {
            case Value::Kind::Undefined: fail_undefined(obj);
            case Value::Kind::String: {
                Value m = string_method(obj, name);
                if (!m.is_undefined()) return m;
                break;
            }
            case Value::Kind::Dict: {
                Value m = dict_method(obj, name);
                if (!m.is_undefined()) return m;
                if (const Value* v = obj.dict_ref().find(Value(name))) return *v;
                break;
            }
            case Value::Kind::Namespace:
                if (const Value* v = obj.dict_ref().find(Value(name))) return *v;
                break;
            case Value::Kind::List:
            case Value::Kind::Tuple: {
                Value m = list_method(obj, name);
                if (!m.is_undefined()) return m;
                break;
            }
            default: break;
        }
        return Value::undefined(obj_desc(obj) + " has no attribute '" + name + "'");
    }

    Value getitem(const Value& obj, const Value& key) {
        switch (obj.kind()) {
            case Value::Kind::Undefined: fail_undefined(obj);
            case Value::Kind::Dict:
                if (const Value* v = obj.dict_ref().find(key)) return *v;
                break;
            case Value::Kind::List:
            case Value::Kind::Tuple:
            case Value::Kind::String:
                if (key.is_int() || key.is_bool()) {
                    int64_t i = key.as_int();
                    if (obj.is_string()) {
                        std::u32string u = utf8_to_u32(obj.str_ref());
                        int64_t n = static_cast<int64_t>(u.size());
                        if (i < 0) i += n;
                        if (i >= 0 && i < n) return Value(u32_to_utf8(std::u32string(1, u[static_cast<size_t>(i)])));
                    } else {
                        int64_t n = static_cast<int64_t>(obj.items().size());
                        if (i < 0) i += n;
                        if (i >= 0 && i < n) return obj.items()[static_cast<size_t>(i)];
                    }
                    return Value::undefined(obj_desc(obj) + " has no element " + key.repr());
                }
                break;
            default: break;
        }
        if (key.is_string()) return getattr(obj, key.str_ref());
        return Value::undefined(obj_desc(obj) + " has no element " + key.repr());
    }

    static const Value* arg(CallArgs& a, size_t pos, const char* name) {
        if (pos < a.pos.size()) return &a.pos[pos];
        return a.get_kw(name);
    }

    static std::string need_str(const Value* v, const char* what) {
        if (!v || !v->is_string()) raise(std::string(what) + " must be a string");
        return v->str_ref();
    }

    static int64_t opt_int(const Value* v, int64_t def) {
        if (!v || v->is_none()) return def;
        if (!v->is_int() && !v->is_bool()) raise("'" + v->type_name() + "' object cannot be interpreted as an integer");
        return v->as_int();
    }

    Value string_method(const Value& obj, const std::string& name) {
        const std::string s = obj.str_ref();
        auto fn = [&](std::function<Value(CallArgs&)> f) { return Value::function(name, std::move(f)); };
        if (name == "startswith" || name == "endswith") {
            bool start = name == "startswith";
            return fn([s, start](CallArgs& a) {
                const Value* p = arg(a, 0, "prefix");
                if (!p) raise("startswith/endswith takes at least 1 argument");
                List cands = p->kind() == Value::Kind::Tuple ? p->items() : List{*p};
                for (const auto& c : cands) {
                    std::string x = need_str(&c, "prefix");
                    if (x.size() <= s.size() && (start ? s.compare(0, x.size(), x) == 0
                                                       : s.compare(s.size() - x.size(), x.size(), x) == 0))
                        return Value(true);
                }
                return Value(false);
            });
        }
        if (name == "strip" || name == "lstrip" || name == "rstrip") {
            bool l = name != "rstrip", r = name != "lstrip";
            return fn([s, l, r](CallArgs& a) { return Value(py_strip(s, arg(a, 0, "chars"), l, r)); });
        }
        if (name == "split" || name == "rsplit") {
            bool right = name == "rsplit";
            return fn([s, right](CallArgs& a) {
                List out;
                for (auto& p : py_split(s, arg(a, 0, "sep"), opt_int(arg(a, 1, "maxsplit"), -1), right))
                    out.push_back(Value(p));
                return Value::list(std::move(out));
            });
        }
        if (name == "splitlines")
            return fn([s](CallArgs&) {
                List out;
                size_t i = 0;
                while (i < s.size()) {
                    size_t j = s.find_first_of("\r\n", i);
                    if (j == std::string::npos) { out.push_back(Value(s.substr(i))); break; }
                    out.push_back(Value(s.substr(i, j - i)));
                    i = j + ((s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n') ? 2 : 1);
                }
                return Value::list(std::move(out));
            });
        if (name == "replace")
            return fn([s](CallArgs& a) {
                return Value(py_replace(s, need_str(arg(a, 0, "old"), "old"), need_str(arg(a, 1, "new"), "new"),
                                        opt_int(arg(a, 2, "count"), -1)));
            });
        if (name == "upper") return fn([s](CallArgs&) { return Value(str_upper(s)); });
        if (name == "lower") return fn([s](CallArgs&) { return Value(str_lower(s)); });
        if (name == "title") return fn([s](CallArgs&) { return Value(str_title(s)); });
        if (name == "capitalize") return fn([s](CallArgs&) { return Value(str_capitalize(s)); });
        if (name == "find" || name == "rfind" || name == "count" || name == "index") {
            return fn([s, name](CallArgs& a) {
                std::string x = need_str(arg(a, 0, "sub"), "sub");
                if (name == "count") {
                    if (x.empty()) return Value(static_cast<int64_t>(utf8_length(s) + 1));
                    int64_t c = 0;
                    for (size_t p = s.find(x); p != std::string::npos; p = s.find(x, p + x.size())) ++c;
                    return Value(c);
                }
                size_t p = name == "rfind" ? s.rfind(x) : s.find(x);
                if (p == std::string::npos) {
                    if (name == "index") raise("substring not found");
                    return Value(-1);
                }
                return Value(static_cast<int64_t>(utf8_length(s.substr(0, p))));
            });
        }
        if (name == "join")
            return fn([s](CallArgs& a) {
                const Value* it = arg(a, 0, "iterable");
                if (!it) raise("join() takes exactly one argument");
                std::string o;
                bool first = true;
                for (const auto& v : iterate(*it)) {
                    if (!v.is_string()) raise("sequence item: expected str instance, " + v.type_name() + " found");
                    if (!first) o += s;
                    first = false;
                    o += v.str_ref();
                }
                return Value(o);
            });
        if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum" || name == "islower" ||
            name == "isupper")
            return fn([s, name](CallArgs&) {
                if (s.empty()) return Value(false);
                bool any_cased = false;
                for (char32_t c : utf8_to_u32(s)) {
                    bool dig = c >= '0' && c <= '9', lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z';
                    if (name == "isdigit" && !dig) return Value(false);
                    if (name == "isalpha" && !(lo || up)) return Value(false);
                    if (name == "isalnum" && !(lo || up || dig)) return Value(false);
                    if (name == "isspace" && !is_py_space(c)) return Value(false);
                    if (name == "islower" && up) return Value(false);
                    if (name == "isupper" && lo) return Value(false);
                    any_cased = any_cased || lo || up;
                }
                if (name == "islower" || name == "isupper") return Value(any_cased);
                return Value(true);
            });
        if (name == "format") return fn([](CallArgs&) -> Value { raise("unsupported construct 'str.format'"); });
        return Value();
    }

    Value dict_method(const Value& obj, const std::string& name) {
        Value self = obj;
        auto fn = [&](std::function<Value(CallArgs&)> f) { return Value::function(name, std::move(f)); };
        if (name == "get")
            return fn([self](CallArgs& a) {
                const Value* k = arg(a, 0, "key");
                if (!k) raise("get expected at least 1 argument, got 0");
                if (const Value* v = self.dict_ref().find(*k)) return *v;
                const Value* d = arg(a, 1, "default");
                return d ? *d : Value::none();
            });
        if (name == "items" || name == "keys" || name == "values")
            return fn([self, name](CallArgs&) {
                List out;
                for (const auto& [k, v] : self.dict_ref().entries) {
                    if (name == "items") out.push_back(Value::tuple({k, v}));
                    else out.push_back(name == "keys" ? k : v);
                }
                return Value::list(std::move(out));
            });
        if (name == "copy") return fn([self](CallArgs&) {
            Value d = Value::dict();
            d.dict_ref().entries = self.dict_ref().entries;
            return d;
        });
        if (name == "pop" || name == "popitem" || name == "setdefault" || name == "update" || name == "clear")
            return unsafe(obj, name);
        return Value();
    }

    Value list_method(const Value& obj, const std::string& name) {
        Value self = obj;
        if (name == "index" || name == "count")
            return Value::function(name, [self, name](CallArgs& a) {
                const Value* x = arg(a, 0, "value");
                if (!x) raise(name + "() takes exactly one argument");
                int64_t c = 0;
                for (size_t k = 0; k < self.items().size(); ++k) {
                    if (self.items()[k] == *x) {
                        if (name == "index") return Value(static_cast<int64_t>(k));
                        ++c;
                    }
                }
                if (name == "index") raise(x->repr() + " is not in list");
                return Value(c);
            });
        if (self.kind() == Value::Kind::List &&
            (name == "append" || name == "pop" || name == "insert" || name == "extend" || name == "remove" ||
             name == "reverse" || name == "sort" || name == "clear"))
            return unsafe(obj, name);
        return Value();
    }

    // ---- globals ----

    static Value builtin_range() {
        return Value::function("range", [](CallArgs& a) {
            int64_t start = 0, stop, step = 1;
            if (a.pos.empty() || a.pos.size() > 3) raise("range expected 1 to 3 arguments");
            for (const auto& v : a.pos)
                if (!v.is_int() && !v.is_bool()) raise("'" + v.type_name() + "' object cannot be interpreted as an integer");
            if (a.pos.size() == 1) stop = a.pos[0].as_int();
            else { start = a.pos[0].as_int(); stop = a.pos[1].as_int(); }
            if (a.pos.size() == 3) step = a.pos[2].as_int();
            if (step == 0) raise("range() arg 3 must not be zero");
            List out;
            for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                out.push_back(Value(i));
                if (out.size() > 100000) raise("range too big, maximum size for range is 100000");
            }
            return Value::list(std::move(out));
        });
    }
    Value builtin_namespace() {
        std::weak_ptr<char> alive = alive_;
        return Value::function("namespace", [this, alive](CallArgs& a) {
            if (alive.expired()) raise("namespace() called after its template finished rendering");
            Value ns = Value::namespace_();
            namespaces_.push_back(ns);
            for (const auto& p : a.pos) {
                if (!p.is_dict()) raise("namespace() positional argument must be a mapping");
                for (const auto& [k, v] : p.dict_ref().entries) ns.dict_ref().set(k, v);
            }
            for (const auto& [k, v] : a.kw) ns.dict_ref().set(Value(k), v);
            return ns;
        });
    }
    static Value builtin_dict() {
        return Value::function("dict", [](CallArgs& a) {
            Value d = Value::dict();
            for (const auto& p : a.pos) {
                if (!p.is_dict()) raise("dict() positional argument must be a mapping");
                for (const auto& [k, v] : p.dict_ref().entries) d.dict_ref().set(k, v);
            }
            for (const auto& [k, v] : a.kw) d.dict_ref().set(Value(k), v);
            return d;
        });
    }

    // ---- filters ----

    Value attr_path(const Value& item, const Value& attribute) {
        if (attribute.is_int()) return getitem(item, attribute);
        Value v = item;
        Value dot(".");
        for (const auto& part : py_split(attribute.str(), &dot, -1, false)) {
            bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
            v = digits ? getitem(v, Value(static_cast<int64_t>(std::stoll(part)))) : getitem(v, Value(part));
        }
        return v;
    }

    Value filter(const std::string& name, const Value& in, CallArgs& a, const ScopePtr& sc) {
        if (name == "tojson") {
            Value::JsonOptions o;
            const Value* ea = arg(a, 0, "ensure_ascii");
            const Value* ind = arg(a, 1, "indent");
            const Value* sep = arg(a, 2, "separators");
            const Value* sk = arg(a, 3, "sort_keys");
            o.ensure_ascii = ea && ea->truthy();
            if (ind && !ind->is_none()) {
                if (ind->is_string()) o.indent = ind->str_ref();
                else if (ind->is_int()) o.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, ind->as_int())), ' ');
                else raise("tojson indent must be an integer or a string");
            }
            if (sep && !sep->is_none()) {
                if (!sep->is_list() || sep->items().size() != 2 || !sep->items()[0].is_string() ||
                    !sep->items()[1].is_string())
                    raise("tojson separators must be a pair of strings");
                o.separators = std::make_pair(sep->items()[0].str_ref(), sep->items()[1].str_ref());
            }
            o.sort_keys = sk && sk->truthy();
            try {
                return Value(in.dumps(o));
            } catch (const std::runtime_error& err) {
                raise(err.what());
            }
        }
        if (name == "default" || name == "d") {
            const Value* dv = arg(a, 0, "default_value");
            const Value* boolean = arg(a, 1, "boolean");
            bool use = in.is_undefined() || (boolean && boolean->truthy() && !in.truthy());
            return use ? (dv ? *dv : Value("")) : in;
        }
        if (name == "length" || name == "count") return Value(len_of(in));
        if (name == "string") return Value(in.str());
        if (name == "safe") return in;
        if (name == "e" || name == "escape" || name == "forceescape") return Value(hearth::html_escape(in.str(), QuoteEntity::kNumeric));
        if (name == "trim") return Value(py_strip(in.str(), arg(a, 0, "chars"), true, true));
        if (name == "upper") return Value(str_upper(in.str()));
        if (name == "lower") return Value(str_lower(in.str()));
        if (name == "capitalize") return Value(str_capitalize(in.str()));
        if (name == "title") return Value(str_title(in.str()));
        if (name == "replace") {
            const Value* o = arg(a, 0, "old");
            const Value* n = arg(a, 1, "new");
            if (!o || !n) raise("replace filter needs old and new");
            return Value(py_replace(in.str(), o->str(), n->str(), opt_int(arg(a, 2, "count"), -1)));
        }
        if (name == "first" || name == "last") {
            if (in.is_undefined()) return Value::undefined("No " + name + " item, sequence was empty.");
            List items = iterate(in);
            if (items.empty()) return Value::undefined("No " + name + " item, sequence was empty.");
            return name == "first" ? items.front() : items.back();
        }
        if (name == "list") return Value::list(iterate(in));
        if (name == "reverse") {
            if (in.is_string()) {
                std::u32string u = utf8_to_u32(in.str_ref());
                std::reverse(u.begin(), u.end());
                return Value(u32_to_utf8(u));
            }
            List items = iterate(in);
            std::reverse(items.begin(), items.end());
            return Value::list(std::move(items));
        }
        if (name == "items") {
            if (in.is_undefined()) return Value::list();
            if (!in.is_dict()) raise("Can only get item pairs from a mapping.");
            List out;
            for (const auto& [k, v] : in.dict_ref().entries) out.push_back(Value::tuple({k, v}));
            return Value::list(std::move(out));
        }
        if (name == "join") {
            const Value* sep = arg(a, 0, "d");
            const Value* attribute = arg(a, 1, "attribute");
            std::string s = sep ? sep->str() : "";
            std::string o;
            bool first = true;
            for (const auto& v : iterate(in)) {
                if (!first) o += s;
                first = false;
                o += (attribute && !attribute->is_none() ? attr_path(v, *attribute) : v).str();
            }
            return Value(o);
        }
        if (name == "int") {
            const Value* dv = arg(a, 0, "default");
            Value def = dv ? *dv : Value(0);
            if (in.is_int() || in.is_bool()) return Value(in.as_int());
            if (in.is_float()) return Value(static_cast<int64_t>(std::trunc(in.as_float())));
            if (in.is_string()) {
                std::string s = py_strip(in.str_ref(), nullptr, true, true);
                try {
                    size_t used = 0;
                    long long v = std::stoll(s, &used, 10);
                    if (used == s.size()) return Value(static_cast<int64_t>(v));
                    double d = std::stod(s, &used);
                    if (used == s.size() && std::isfinite(d)) return Value(static_cast<int64_t>(std::trunc(d)));
                } catch (const std::exception&) {
                }
            }
            return def;
        }
        if (name == "float") {
            const Value* dv = arg(a, 0, "default");
            Value def = dv ? *dv : Value(0.0);
            if (in.is_number()) return Value(in.as_float());
            if (in.is_string()) {
                std::string s = py_strip(in.str_ref(), nullptr, true, true);
                try {
                    size_t used = 0;
                    double d = std::stod(s, &used);
                    if (used == s.size()) return Value(d);
                } catch (const std::exception&) {
                }
            }
            return def;
        }
        if (name == "abs") {
            if (in.is_float()) return Value(std::fabs(in.as_float()));
            if (in.is_number()) return Value(in.as_int() < 0 ? -in.as_int() : in.as_int());
            raise("bad operand type for abs(): '" + in.type_name() + "'");
        }
        if (name == "round") {
            int64_t prec = opt_int(arg(a, 0, "precision"), 0);
            const Value* method = arg(a, 1, "method");
            std::string m = method ? method->str() : "common";
            if (!in.is_number()) raise("round filter needs a number");
            double x = in.as_float(), p = std::pow(10.0, static_cast<double>(prec));
            double r = m == "ceil" ? std::ceil(x * p) / p : m == "floor" ? std::floor(x * p) / p
                                                                       : std::nearbyint(x * p) / p;
            return Value(r);
        }
        if (name == "sum") {
            const Value* attribute = arg(a, 0, "attribute");
            const Value* start = arg(a, 1, "start");
            Value acc = start ? *start : Value(0);
            for (const auto& v : iterate(in)) {
                Value x = attribute && !attribute->is_none() ? attr_path(v, *attribute) : v;
                if (!acc.is_number() || !x.is_number()) raise("sum filter needs numbers");
                acc = (acc.is_float() || x.is_float()) ? Value(acc.as_float() + x.as_float()) : Value(acc.as_int() + x.as_int());
            }
            return acc;
        }
        if (name == "unique") {
            const Value* cs = arg(a, 0, "case_sensitive");
            const Value* attribute = arg(a, 1, "attribute");
            bool case_sensitive = cs && cs->truthy();
            List out, seen;
            for (const auto& v : iterate(in)) {
                Value key = attribute && !attribute->is_none() ? attr_path(v, *attribute) : v;
                if (!case_sensitive && key.is_string()) key = Value(str_lower(key.str_ref()));
                bool dup = false;
                for (const auto& s : seen) dup = dup || s == key;
                if (!dup) {
                    seen.push_back(key);
                    out.push_back(v);
                }
            }
            return Value::list(std::move(out));
        }
        if (name == "indent") {
            const Value* w = arg(a, 0, "width");
            const Value* first = arg(a, 1, "first");
            const Value* blank = arg(a, 2, "blank");
            std::string ind = w && w->is_string() ? w->str_ref() : std::string(static_cast<size_t>(std::max<int64_t>(0, w ? opt_int(w, 4) : 4)), ' ');
            std::string s = in.str() + "\n";
            std::vector<std::string> lines;
            size_t i = 0;
            while (i < s.size()) {
                size_t j = s.find_first_of("\r\n", i);
                if (j == std::string::npos) { lines.push_back(s.substr(i)); break; }
                lines.push_back(s.substr(i, j - i));
                i = j + ((s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n') ? 2 : 1);
            }
            std::string rv;
            if (blank && blank->truthy()) {
                for (size_t k = 0; k < lines.size(); ++k) rv += (k ? "\n" + ind : "") + lines[k];
            } else {
                rv = lines.empty() ? "" : lines[0];
                for (size_t k = 1; k < lines.size(); ++k) rv += "\n" + (lines[k].empty() ? "" : ind + lines[k]);
            }
            if (first && first->truthy()) rv = ind + rv;
            return Value(rv);
        }
        if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
            bool by_attr = name == "selectattr" || name == "rejectattr";
            bool keep_if = name == "selectattr" || name == "select";
            size_t ti = by_attr ? 1 : 0;
            if (by_attr && a.pos.empty()) raise(name + " needs an attribute name");
            CallArgs targs;
            for (size_t k = ti + 1; k < a.pos.size(); ++k) targs.pos.push_back(a.pos[k]);
            List out;
            for (const auto& v : iterate(in)) {
                Value x = by_attr ? attr_path(v, a.pos[0]) : v;
                bool r = ti < a.pos.size() ? test(a.pos[ti].str(), x, targs) : x.truthy();
                if (r == keep_if) out.push_back(v);
            }
            return Value::list(std::move(out));
        }
        if (name == "map") {
            List out;
            const Value* attribute = a.get_kw("attribute");
            if (attribute) {
                const Value* def = a.get_kw("default");
                for (const auto& v : iterate(in)) {
                    Value x = attr_path(v, *attribute);
                    out.push_back(x.is_undefined() && def ? *def : x);
                }
                return Value::list(std::move(out));
            }
            if (a.pos.empty()) raise("map requires a filter argument");
            std::string fname = a.pos[0].str();
            CallArgs fargs;
            for (size_t k = 1; k < a.pos.size(); ++k) fargs.pos.push_back(a.pos[k]);
            fargs.kw = a.kw;
            for (const auto& v : iterate(in)) out.push_back(filter(fname, v, fargs, sc));
            return Value::list(std::move(out));
        }
        if (name == "attr") {
            const Value* n = arg(a, 0, "name");
            return getattr(in, n ? n->str() : "");
        }
        if (name == "min" || name == "max") {
            List items = iterate(in);
            if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
            Value best = items[0];
            for (const auto& v : items) {
                int c = compare(v, best, "<");
                if (name == "min" ? c < 0 : c > 0) best = v;
            }
            return best;
        }
        if (name == "sort") {
            const Value* rev = arg(a, 0, "reverse");
            const Value* cs = arg(a, 1, "case_sensitive");
            const Value* attribute = arg(a, 2, "attribute");
            List items = iterate(in);
            auto key = [&](const Value& v) {
                Value k = attribute && !attribute->is_none() ? attr_path(v, *attribute) : v;
                if (!(cs && cs->truthy()) && k.is_string()) k = Value(str_lower(k.str_ref()));
                return k;
            };
            std::stable_sort(items.begin(), items.end(),
                             [&](const Value& x, const Value& y) { return compare(key(x), key(y), "<") < 0; });
            if (rev && rev->truthy()) std::reverse(items.begin(), items.end());
            return Value::list(std::move(items));
        }
        if (name == "dictsort") {
            if (!in.is_dict()) raise("dictsort filter needs a mapping");
            List items;
            for (const auto& [k, v] : in.dict_ref().entries) items.push_back(Value::tuple({k, v}));
            std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
                Value kx = x.items()[0], ky = y.items()[0];
                if (kx.is_string()) kx = Value(str_lower(kx.str_ref()));
                if (ky.is_string()) ky = Value(str_lower(ky.str_ref()));
                return compare(kx, ky, "<") < 0;
            });
            return Value::list(std::move(items));
        }
        if (name == "wordcount") return Value(static_cast<int64_t>(py_split(in.str(), nullptr, -1, false).size()));
        raise("unsupported filter '" + name + "'");
    }

    // ---- tests ----

    bool test(const std::string& name, const Value& v, CallArgs& a) {
        auto other = [&]() -> const Value& {
            if (a.pos.empty()) raise("test '" + name + "' needs an argument");
            return a.pos[0];
        };
        if (name == "defined") return !v.is_undefined();
        if (name == "undefined") return v.is_undefined();
        if (name == "none") return v.is_none();
        if (name == "boolean") return v.is_bool();
        if (name == "true") return v.is_bool() && v.as_bool();
        if (name == "false") return v.is_bool() && !v.as_bool();
        if (name == "integer") return v.is_int();
        if (name == "float") return v.is_float();
        if (name == "number") return v.is_number();
        if (name == "string") return v.is_string();
        if (name == "mapping") return v.is_dict();
        if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
        if (name == "sequence") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
        if (name == "callable") return v.is_callable();
        if (name == "equalto" || name == "eq" || name == "==") return v == other();
        if (name == "ne" || name == "!=") return !(v == other());
        if (name == "lt" || name == "lessthan" || name == "<") return compare(v, other(), "<") < 0;
        if (name == "le" || name == "<=") return compare(v, other(), "<=") <= 0;
        if (name == "gt" || name == "greaterthan" || name == ">") return compare(v, other(), ">") > 0;
        if (name == "ge" || name == ">=") return compare(v, other(), ">=") >= 0;
        if (name == "in") return contains(other(), v);
        if (name == "sameas") {
            const Value& o = other();
            if (v.kind() != o.kind()) return false;
            if (v.is_none() || v.is_undefined()) return true;
            if (v.is_bool() || v.is_int()) return v.as_int() == o.as_int();
            return false;
        }
        if (name == "odd" || name == "even" || name == "divisibleby") {
            if (!v.is_int() && !v.is_bool()) raise("test '" + name + "' needs an integer");
            if (name == "divisibleby") {
                const Value& d = other();
                if (!d.is_int() || d.as_int() == 0) raise("divisibleby needs a non-zero integer");
                return py_mod(v.as_int(), d.as_int()) == 0;
            }
            return (py_mod(v.as_int(), 2) == 1) == (name == "odd");
        }
        if (name == "lower") return v.str() == str_lower(v.str());
        if (name == "upper") return v.str() == str_upper(v.str());
        if (name == "escaped") return false;
        raise("unsupported test '" + name + "'");
    }
};

}  // namespace

Template::Template(const std::string& source, const LexOptions& opts)
    : body_(std::make_shared<Body>(parse_template(source, opts))) {}

std::string Template::render(const Value& context) const {
    Interp in;
    in.body = body_;
    Scope* top = in.new_scope(nullptr);
    if (context.is_dict())
        for (const auto& [k, v] : context.dict_ref().entries) top->vars[k.str()] = v;
    // raise_exception as transformers defines it; a caller may override it in the context.
    if (!top->vars.count("raise_exception"))
        top->vars["raise_exception"] = Value::function("raise_exception", [](CallArgs& a) -> Value {
            throw TemplateRaise{a.pos.empty() ? std::string() : a.pos[0].str()};
        });
    std::string out;
    Scope* root = in.new_scope(top);
    in.exec(*body_, root, out);
    return out;
}

}  // namespace hearth::chat::jinja
