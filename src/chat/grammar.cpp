// GBNF text -> Grammar: a recursive-descent parser to a small tree, then a compiler to the
// byte-level rules of grammar_matcher.h (character classes become UTF-8 byte sequences,
// repetitions become right-recursive rules), then the checks the matcher relies on.
#include "chat/grammar.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"

namespace hearth::chat {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr int kMaxRepeat = 10000;          // {m,n} bounds
constexpr size_t kMaxElems = 4'000'000;    // compiled size, so {m,n} nesting cannot eat memory

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;  // code points, inclusive, sorted

struct Node {
    enum Kind { Lit, Cls, Ref, Seq, Alt, Rep } kind;
    size_t pos = 0;          // offset in the text, for messages
    std::string bytes;       // Lit (UTF-8)
    Ranges ranges;           // Cls, normalised (negation applied, surrogates removed)
    std::string name;        // Ref
    std::vector<Node> kids;  // Seq, Alt: parts; Rep: the repeated part
    int min = 0, max = -1;   // Rep; -1: unbounded

    Node(Kind k, size_t p) : kind(k), pos(p) {}
};

struct RuleDef {
    std::string name;
    size_t pos;
    Node body;
};

void put_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

int utf8_len(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// Sorts and merges; with `negate`, the complement within all code points; surrogates (which
// UTF-8 cannot carry) are always removed.
Ranges normalise(Ranges r, bool negate) {
    std::sort(r.begin(), r.end());
    Ranges m;
    for (auto [a, b] : r) {
        if (!m.empty() && a <= m.back().second + 1) m.back().second = std::max(m.back().second, b);
        else m.emplace_back(a, b);
    }
    if (negate) {
        Ranges c;
        uint32_t next = 0;
        for (auto [a, b] : m) {
            if (a > next) c.emplace_back(next, a - 1);
            next = b + 1;
        }
        if (next <= kMaxCodePoint) c.emplace_back(next, kMaxCodePoint);
        m = std::move(c);
    }
    Ranges out;
    for (auto [a, b] : m) {
        if (b < 0xD800 || a > 0xDFFF) {
            out.emplace_back(a, b);
            continue;
        }
        if (a < 0xD800) out.emplace_back(a, 0xD7FF);
        if (b > 0xDFFF) out.emplace_back(0xE000, b);
    }
    return out;
}

using ByteSeq = std::vector<std::pair<uint8_t, uint8_t>>;  // one byte range per position

// The UTF-8 encodings of [lo, hi] (same encoded length) as byte-range sequences: a range is
// split until, at every position, each byte varies over the whole of its own range
// independently of the others.
void split_same_len(uint32_t lo, uint32_t hi, std::vector<ByteSeq>& out) {
    const int n = utf8_len(lo);
    for (int i = 1; i < n; ++i) {
        const uint32_t m = (1u << (6 * i)) - 1;  // the bits of the last i bytes
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                split_same_len(lo, lo | m, out);
                split_same_len((lo | m) + 1, hi, out);
                return;
            }
            if ((hi & m) != m) {
                split_same_len(lo, (hi & ~m) - 1, out);
                split_same_len(hi & ~m, hi, out);
                return;
            }
        }
    }
    std::string a, b;
    put_utf8(lo, a);
    put_utf8(hi, b);
    ByteSeq s;
    for (size_t k = 0; k < a.size(); ++k) s.emplace_back(static_cast<uint8_t>(a[k]), static_cast<uint8_t>(b[k]));
    out.push_back(std::move(s));
}

std::vector<ByteSeq> utf8_sequences(const Ranges& rs) {
    static const uint32_t bounds[][2] = {{0, 0x7F}, {0x80, 0x7FF}, {0x800, 0xFFFF}, {0x10000, kMaxCodePoint}};
    std::vector<ByteSeq> out;
    for (auto [a, b] : rs)
        for (const auto& bd : bounds) {
            uint32_t lo = std::max(a, bd[0]), hi = std::min(b, bd[1]);
            if (lo <= hi) split_same_len(lo, hi, out);
        }
    return out;
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

class Parser {
public:
    explicit Parser(const std::string& text) : t_(text) {}

    std::vector<RuleDef> parse() {
        std::vector<RuleDef> out;
        skip_ws();
        while (i_ < t_.size()) {
            const size_t p = i_;
            if (!is_name_char(t_[i_])) fail(p, "expected a rule name, got " + describe());
            std::string name = read_name();
            skip_ws();
            if (t_.compare(i_, 3, "::=") != 0) fail(i_, "expected '::=' after the rule name '" + name + "'");
            i_ += 3;
            Node body = parse_alts(0);
            out.push_back({std::move(name), p, std::move(body)});
            skip_ws();
        }
        if (out.empty()) fail(0, "the grammar has no rules");
        return out;
    }

    [[noreturn]] void fail(size_t pos, const std::string& msg) const { throw Error(where(pos) + msg); }

    // "grammar line L, column C: " (column counted in code points).
    std::string where(size_t pos) const {
        int line = 1, col = 1;
        for (size_t k = 0; k < pos && k < t_.size(); ++k) {
            const auto c = static_cast<unsigned char>(t_[k]);
            if (c == '\n') {
                ++line;
                col = 1;
            } else if ((c & 0xC0) != 0x80) {
                ++col;
            }
        }
        return "grammar line " + std::to_string(line) + ", column " + std::to_string(col) + ": ";
    }

private:
    bool eof() const { return i_ >= t_.size(); }

    std::string describe() const {
        if (eof()) return "the end of the grammar";
        const auto c = static_cast<unsigned char>(t_[i_]);
        if (c == '\n') return "a line break";
        if (c < 0x20 || c == 0x7F) return "a control character";
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        return "'" + t_.substr(i_, n) + "'";
    }

    void skip_ws() {
        while (!eof()) {
            const char c = t_[i_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++i_;
            } else if (c == '#') {
                while (!eof() && t_[i_] != '\n') ++i_;
            } else {
                break;
            }
        }
    }

    std::string read_name() {
        size_t b = i_;
        while (!eof() && is_name_char(t_[i_])) ++i_;
        return t_.substr(b, i_ - b);
    }

    // Whether a `name ::=` starts here: the rule being read ends before it.
    bool at_rule_start() {
        size_t save = i_;
        read_name();
        skip_ws();
        bool yes = t_.compare(i_, 3, "::=") == 0;
        i_ = save;
        return yes;
    }

    Node parse_alts(int depth) {
        Node alt{Node::Alt, i_};
        alt.kids.push_back(parse_seq(depth));
        while (true) {
            skip_ws();
            if (eof() || t_[i_] != '|') break;
            ++i_;
            alt.kids.push_back(parse_seq(depth));
        }
        return alt;
    }

    Node parse_seq(int depth) {
        Node seq{Node::Seq, i_};
        while (true) {
            skip_ws();
            if (eof()) {
                if (depth > 0) fail(i_, "missing ')' at the end of the grammar");
                break;
            }
            const char c = t_[i_];
            if (c == '|') break;
            if (c == ')') {
                if (depth == 0) fail(i_, "')' without a matching '('");
                break;
            }
            if (is_name_char(c) && at_rule_start()) {
                if (depth > 0) fail(i_, "missing ')' before the next rule");
                break;
            }
            seq.kids.push_back(parse_item(depth));
        }
        return seq;
    }

    Node parse_item(int depth) {
        Node e = parse_primary(depth);
        while (true) {
            skip_ws();
            if (eof()) break;
            const char c = t_[i_];
            const size_t p = i_;
            int lo, hi;
            if (c == '*') { lo = 0; hi = -1; ++i_; }
            else if (c == '+') { lo = 1; hi = -1; ++i_; }
            else if (c == '?') { lo = 0; hi = 1; ++i_; }
            else if (c == '{') { ++i_; read_bounds(p, lo, hi); }
            else break;
            Node r{Node::Rep, p};
            r.min = lo;
            r.max = hi;
            r.kids.push_back(std::move(e));
            e = std::move(r);
        }
        return e;
    }

    int read_count(const char* what) {
        skip_ws();
        const size_t b = i_;
        long long v = 0;
        while (!eof() && t_[i_] >= '0' && t_[i_] <= '9') {
            v = v * 10 + (t_[i_] - '0');
            if (v > kMaxRepeat) fail(b, std::string("repetition ") + what + " is larger than " + std::to_string(kMaxRepeat));
            ++i_;
        }
        return i_ == b ? -1 : static_cast<int>(v);
    }

    void read_bounds(size_t p, int& lo, int& hi) {
        lo = read_count("count");
        skip_ws();
        if (!eof() && t_[i_] == ',') {
            ++i_;
            hi = read_count("maximum");
            if (lo < 0) lo = 0;
        } else {
            if (lo < 0) fail(i_, "expected a number in '{...}', got " + describe());
            hi = lo;
        }
        skip_ws();
        if (eof() || t_[i_] != '}') fail(i_, "expected '}' to close the repetition, got " + describe());
        ++i_;
        if (hi >= 0 && hi < lo)
            fail(p, "repetition {" + std::to_string(lo) + "," + std::to_string(hi) + "} has its maximum below its minimum");
    }

    Node parse_primary(int depth) {
        const size_t p = i_;
        const char c = t_[i_];
        if (c == '"') {
            ++i_;
            Node lit{Node::Lit, p};
            while (true) {
                if (eof() || t_[i_] == '\n') fail(p, "unterminated string literal");
                if (t_[i_] == '"') {
                    ++i_;
                    break;
                }
                put_utf8(read_char(), lit.bytes);
            }
            return lit;
        }
        if (c == '[') {
            ++i_;
            bool negate = false;
            if (!eof() && t_[i_] == '^') {
                negate = true;
                ++i_;
            }
            Ranges rs;
            while (true) {
                if (eof() || t_[i_] == '\n') fail(p, "unterminated character class (missing ']')");
                if (t_[i_] == ']') {
                    ++i_;
                    break;
                }
                const size_t cp_pos = i_;
                uint32_t lo = read_char(), hi = lo;
                if (!eof() && t_[i_] == '-' && i_ + 1 < t_.size() && t_[i_ + 1] != ']') {
                    ++i_;
                    if (eof() || t_[i_] == '\n') fail(p, "unterminated character class (missing ']')");
                    hi = read_char();
                    if (hi < lo) fail(cp_pos, "character range is reversed (its end comes before its start)");
                }
                rs.emplace_back(lo, hi);
            }
            if (rs.empty()) fail(p, "empty character class '[]' matches nothing");
            Node cls{Node::Cls, p};
            cls.ranges = normalise(std::move(rs), negate);
            if (cls.ranges.empty()) fail(p, "character class matches no character");
            return cls;
        }
        if (c == '.') {
            ++i_;
            Node cls{Node::Cls, p};
            cls.ranges = normalise({{0, kMaxCodePoint}}, false);
            return cls;
        }
        if (c == '(') {
            ++i_;
            Node g = parse_alts(depth + 1);
            skip_ws();
            if (eof() || t_[i_] != ')') fail(p, "'(' is never closed");
            ++i_;
            g.pos = p;
            return g;
        }
        if (is_name_char(c)) {
            Node r{Node::Ref, p};
            r.name = read_name();
            return r;
        }
        fail(p, "unexpected " + describe() + " (expected a string, a [class], a rule name, '(' or '.')");
    }

    // One character of a literal or class: an escape, or a UTF-8 code point.
    uint32_t read_char() {
        const size_t p = i_;
        const auto c = static_cast<unsigned char>(t_[i_]);
        if (c == '\\') {
            ++i_;
            if (eof()) fail(p, "'\\' at the end of the grammar");
            const char e = t_[i_++];
            switch (e) {
                case 'n': return '\n';
                case 'r': return '\r';
                case 't': return '\t';
                case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': return static_cast<uint8_t>(e);
                case 'x': return read_hex(p, 2);
                case 'u': return read_hex(p, 4);
                case 'U': return read_hex(p, 8);
                default: fail(p, std::string("unknown escape '\\") + e + "'");
            }
        }
        if (c < 0x80) {
            ++i_;
            return c;
        }
        int n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || i_ + static_cast<size_t>(n) > t_.size()) fail(p, "invalid UTF-8");
        uint32_t cp = c & (0xFF >> (n + 1));
        for (int k = 1; k < n; ++k) {
            const auto d = static_cast<unsigned char>(t_[i_ + static_cast<size_t>(k)]);
            if ((d & 0xC0) != 0x80) fail(p, "invalid UTF-8");
            cp = (cp << 6) | (d & 0x3F);
        }
        if (utf8_len(cp) != n || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) fail(p, "invalid UTF-8");
        i_ += static_cast<size_t>(n);
        return cp;
    }

    uint32_t read_hex(size_t p, int digits) {
        uint32_t v = 0;
        for (int k = 0; k < digits; ++k) {
            if (eof()) fail(p, "escape needs " + std::to_string(digits) + " hex digits");
            const char h = t_[i_];
            int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            if (d < 0) fail(p, "escape needs " + std::to_string(digits) + " hex digits");
            v = v * 16 + static_cast<uint32_t>(d);
            ++i_;
        }
        if (v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF)) fail(p, "escape is not a Unicode scalar value");
        return v;
    }

    const std::string& t_;
    size_t i_ = 0;
};

class Compiler {
public:
    explicit Compiler(const Parser& p) : p_(p) {}

    Grammar run(const std::vector<RuleDef>& defs) {
        std::map<std::string, size_t> first;
        for (size_t k = 0; k < defs.size(); ++k) {
            auto [it, fresh] = first.emplace(defs[k].name, k);
            if (!fresh)
                p_.fail(defs[k].pos, "rule '" + defs[k].name + "' is defined twice (first at " +
                                         p_.where(defs[it->second].pos).substr(8, p_.where(defs[it->second].pos).size() - 10) + ")");
            ids_[defs[k].name] = new_rule(defs[k].name);
        }
        auto root = ids_.find("root");
        if (root == ids_.end()) throw Error("grammar: no rule named 'root' (matching starts there)");
        g_.root = root->second;
        for (const auto& d : defs) {
            const Node& body = d.body;  // always an Alt
            std::vector<std::vector<Sym>> alts;
            for (const auto& k : body.kids) alts.push_back(compile(k, d.name));
            define(ids_[d.name], alts);
        }
        check_left_recursion();
        compute_shortest(g_, "grammar");
        return std::move(g_);
    }

private:
    struct Sym {
        bool is_ref;
        int32_t arg;  // class id or rule id
    };

    int32_t new_rule(const std::string& name) {
        g_.rules.emplace_back();
        g_.rule_names.push_back(name);
        return static_cast<int32_t>(g_.rules.size() - 1);
    }

    void define(int32_t r, const std::vector<std::vector<Sym>>& alts) {
        for (const auto& alt : alts) {
            g_.rules[static_cast<size_t>(r)].push_back(static_cast<int32_t>(g_.elems.size()));
            for (const auto& s : alt) g_.elems.push_back({s.is_ref ? Grammar::Elem::Ref : Grammar::Elem::Class, s.arg});
            g_.elems.push_back({Grammar::Elem::End, 0});
        }
        if (g_.elems.size() > kMaxElems) throw Error("grammar: too large once repetitions are expanded");
    }

    int32_t class_id(const std::array<uint64_t, 4>& c) {
        auto it = class_ids_.find(c);
        if (it != class_ids_.end()) return it->second;
        g_.classes.push_back(c);
        const auto id = static_cast<int32_t>(g_.classes.size() - 1);
        class_ids_.emplace(c, id);
        return id;
    }
    Sym byte_range(uint8_t lo, uint8_t hi) {
        std::array<uint64_t, 4> c{};
        for (int b = lo; b <= hi; ++b) c[static_cast<size_t>(b) >> 6] |= uint64_t{1} << (b & 63);
        return {false, class_id(c)};
    }

    std::string label(const std::string& owner, const char* what, size_t pos) const {
        std::string w = p_.where(pos);  // "grammar line L, column C: "
        return owner + "/" + what + " at " + w.substr(8, w.size() - 10);
    }

    // A code point class: one byte class when it is all ASCII, else a rule whose alternatives
    // are the UTF-8 byte sequences (shared by identical classes).
    std::vector<Sym> compile_class(const Ranges& rs, const std::string& owner, size_t pos) {
        auto it = class_rules_.find(rs);
        if (it != class_rules_.end()) return {{true, it->second}};
        std::vector<ByteSeq> seqs = utf8_sequences(rs);
        std::array<uint64_t, 4> ascii{};
        bool any_ascii = false;
        std::vector<std::vector<Sym>> alts;
        for (const auto& s : seqs) {
            if (s.size() == 1) {
                for (int b = s[0].first; b <= s[0].second; ++b) ascii[static_cast<size_t>(b) >> 6] |= uint64_t{1} << (b & 63);
                any_ascii = true;
                continue;
            }
            std::vector<Sym> alt;
            for (auto [lo, hi] : s) alt.push_back(byte_range(lo, hi));
            alts.push_back(std::move(alt));
        }
        if (alts.empty()) return {{false, class_id(ascii)}};
        if (any_ascii) alts.insert(alts.begin(), {{false, class_id(ascii)}});
        int32_t r = new_rule(label(owner, "class", pos));
        define(r, alts);
        class_rules_.emplace(rs, r);
        return {{true, r}};
    }

    // One symbol standing for the node (a rule when it takes several).
    Sym single(const Node& n, const std::string& owner, const char* what) {
        std::vector<Sym> s = compile(n, owner);
        if (s.size() == 1) return s[0];
        int32_t r = new_rule(label(owner, what, n.pos));
        define(r, {s});
        return {true, r};
    }

    std::vector<Sym> compile(const Node& n, const std::string& owner) {
        switch (n.kind) {
            case Node::Lit: {
                std::vector<Sym> out;
                for (unsigned char b : n.bytes) out.push_back(byte_range(b, b));
                return out;
            }
            case Node::Cls: return compile_class(n.ranges, owner, n.pos);
            case Node::Ref: {
                auto it = ids_.find(n.name);
                if (it == ids_.end()) p_.fail(n.pos, "rule '" + n.name + "' is used but never defined");
                return {{true, it->second}};
            }
            case Node::Seq: {
                std::vector<Sym> out;
                for (const auto& k : n.kids) {
                    auto s = compile(k, owner);
                    out.insert(out.end(), s.begin(), s.end());
                }
                return out;
            }
            case Node::Alt: {
                if (n.kids.size() == 1) return compile(n.kids[0], owner);
                int32_t r = new_rule(label(owner, "group", n.pos));
                std::vector<std::vector<Sym>> alts;
                for (const auto& k : n.kids) alts.push_back(compile(k, owner));
                define(r, alts);
                return {{true, r}};
            }
            case Node::Rep: {
                const Sym x = single(n.kids[0], owner, "repeated part");
                std::vector<Sym> out(static_cast<size_t>(n.min), x);
                if (n.max < 0) {
                    // x* as  r ::= "" | x r  (right recursion: the matcher's stack stays flat)
                    int32_t r = new_rule(label(owner, "repetition", n.pos));
                    define(r, {{}, {x, {true, r}}});
                    out.push_back({true, r});
                } else if (n.max > n.min) {
                    // up to k more as nested optionals: o_k ::= "" | x o_{k-1}
                    int32_t prev = -1;
                    for (int k = 0; k < n.max - n.min; ++k) {
                        int32_t r = new_rule(label(owner, "repetition", n.pos));
                        std::vector<Sym> more = {x};
                        if (prev >= 0) more.push_back({true, prev});
                        define(r, {{}, more});
                        prev = r;
                    }
                    out.push_back({true, prev});
                }
                if (g_.elems.size() + out.size() > kMaxElems) throw Error("grammar: too large once repetitions are expanded");
                return out;
            }
        }
        return {};
    }

    // The matcher expands references depth-first, so a rule that can start with itself would
    // never stop; find such a cycle through the "may begin with" relation.
    void check_left_recursion() {
        const size_t n = g_.rules.size();
        std::vector<char> nullable(n, 0);
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t r = 0; r < n; ++r) {
                if (nullable[r]) continue;
                for (int32_t start : g_.rules[r]) {
                    bool all = true;
                    for (size_t p = static_cast<size_t>(start); g_.elems[p].kind != Grammar::Elem::End; ++p) {
                        const auto& e = g_.elems[p];
                        if (e.kind == Grammar::Elem::Class || !nullable[static_cast<size_t>(e.arg)]) {
                            all = false;
                            break;
                        }
                    }
                    if (all) {
                        nullable[r] = 1;
                        changed = true;
                        break;
                    }
                }
            }
        }
        std::vector<std::vector<int32_t>> begins(n);
        for (size_t r = 0; r < n; ++r)
            for (int32_t start : g_.rules[r])
                for (size_t p = static_cast<size_t>(start); g_.elems[p].kind == Grammar::Elem::Ref; ++p) {
                    begins[r].push_back(g_.elems[p].arg);
                    if (!nullable[static_cast<size_t>(g_.elems[p].arg)]) break;
                }
        // Iterative DFS (grammars from {m,n} can be deep); colour 1 = on the current path.
        std::vector<char> colour(n, 0);
        for (size_t s = 0; s < n; ++s) {
            if (colour[s]) continue;
            std::vector<std::pair<int32_t, size_t>> path = {{static_cast<int32_t>(s), 0}};
            colour[s] = 1;
            while (!path.empty()) {
                auto& [r, k] = path.back();
                const auto& out = begins[static_cast<size_t>(r)];
                if (k == out.size()) {
                    colour[static_cast<size_t>(r)] = 2;
                    path.pop_back();
                    continue;
                }
                const int32_t t = out[k++];
                if (colour[static_cast<size_t>(t)] == 1) {
                    std::string cyc;
                    bool on = false;
                    for (const auto& [q, unused] : path) {
                        on = on || q == t;
                        if (on) cyc += "'" + g_.rule_names[static_cast<size_t>(q)] + "' -> ";
                    }
                    cyc += "'" + g_.rule_names[static_cast<size_t>(t)] + "'";
                    throw Error("grammar: left recursion: " + cyc +
                                " (a rule may not begin with itself, also not through rules or repeated parts "
                                "that can match empty text; write `a ::= b (\"+\" b)*` instead of `a ::= a \"+\" b | b`)");
                }
                if (colour[static_cast<size_t>(t)] == 0) {
                    colour[static_cast<size_t>(t)] = 1;
                    path.emplace_back(t, 0);
                }
            }
        }
    }

    const Parser& p_;
    Grammar g_;
    std::map<std::string, int32_t> ids_;
    std::map<std::array<uint64_t, 4>, int32_t> class_ids_;
    std::map<Ranges, int32_t> class_rules_;
};

}  // namespace

Grammar parse_gbnf(const std::string& text) {
    Parser p(text);
    std::vector<RuleDef> defs = p.parse();
    return Compiler(p).run(defs);
}

Grammar load_gbnf_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot read grammar file");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return parse_gbnf(ss.str());
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
}

}  // namespace hearth::chat
