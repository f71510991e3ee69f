#include "chat/jinja/parser.h"

#include <cstring>
#include <set>

#include "core/error.h"

namespace hearth::chat::jinja {

namespace {

[[noreturn]] void fail(int line, const std::string& what) {
    throw Error("template line " + std::to_string(line) + ": " + what);
}

enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
    Tok type;
    std::string text;  // Text content, name, decoded string, operator, number spelling
    int line;
};

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python's str.rstrip() for the ASCII whitespace a template's text can hold.
std::string rstrip_ws(const std::string& s) {
    size_t e = s.size();
    while (e > 0 && is_ws(s[e - 1])) --e;
    return s.substr(0, e);
}

void append_utf8(std::string& out, uint32_t cp) { out += u32_to_utf8(std::u32string(1, static_cast<char32_t>(cp))); }

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Python's "unicode-escape" decoding, which jinja2 applies to string literals.
std::string decode_string(const std::string& raw, int line) {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c != '\\' || i + 1 >= raw.size()) { out += c; continue; }
        char e = raw[++i];
        switch (e) {
            case '\n': break;
            case '\\': out += '\\'; break;
            case '\'': out += '\''; break;
            case '"': out += '"'; break;
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case 'x': case 'u': case 'U': {
                size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                uint32_t cp = 0;
                for (size_t k = 0; k < n; ++k) {
                    int h = i + 1 + k < raw.size() ? hexval(raw[i + 1 + k]) : -1;
                    if (h < 0) fail(line, std::string("truncated \\") + e + " escape in a string literal");
                    cp = cp * 16 + static_cast<uint32_t>(h);
                }
                i += n;
                append_utf8(out, cp);
                break;
            }
            case 'N': fail(line, "unsupported string escape '\\N{...}'");
            default:
                if (e >= '0' && e <= '7') {
                    uint32_t cp = static_cast<uint32_t>(e - '0');
                    for (int k = 0; k < 2 && i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '7'; ++k)
                        cp = cp * 8 + static_cast<uint32_t>(raw[++i] - '0');
                    append_utf8(out, cp);
                } else {
                    out += '\\';
                    out += e;
                }
        }
    }
    return out;
}

class Lexer {
public:
    Lexer(const std::string& src, const LexOptions& o) : o_(o) {
        // Newlines normalised as jinja2 does; one trailing newline dropped.
        src_.reserve(src.size());
        for (size_t i = 0; i < src.size(); ++i) {
            if (src[i] == '\r') {
                src_ += '\n';
                if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
            } else {
                src_ += src[i];
            }
        }
        if (!o.keep_trailing_newline && !src_.empty() && src_.back() == '\n') src_.pop_back();
    }

    std::vector<Token> run() {
        size_t pos = 0;
        bool line_starting = true;
        const size_t n = src_.size();
        while (pos < n) {
            size_t start = pos;
            while (true) {
                start = src_.find('{', start);
                if (start == std::string::npos || start + 1 >= n) { start = std::string::npos; break; }
                char k = src_[start + 1];
                if (k == '{' || k == '%' || k == '#') break;
                ++start;
            }
            if (start == std::string::npos) {
                emit(Tok::Text, src_.substr(pos), pos);
                break;
            }
            std::string text = src_.substr(pos, start - pos);
            char kind = src_[start + 1];
            char sign = start + 2 < n ? src_[start + 2] : '\0';
            if (sign == '-') {
                text = rstrip_ws(text);
            } else if (sign != '+' && o_.lstrip_blocks && kind != '{') {
                size_t nl = text.rfind('\n');
                size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
                if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
                    bool all_ws = true;
                    for (size_t k = l_pos; k < text.size(); ++k) all_ws = all_ws && is_ws(text[k]);
                    if (all_ws) text.resize(l_pos);
                }
            }
            if (!text.empty()) emit(Tok::Text, text, pos);
            size_t p = start + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
            bool strip_after = false;
            if (kind == '#') {
                size_t end = src_.find("#}", p);
                if (end == std::string::npos) fail(line_at(start), "unclosed comment");
                strip_after = end > p && src_[end - 1] == '-';
                pos = end + 2;
            } else {
                emit(kind == '{' ? Tok::VarBegin : Tok::BlockBegin, "", start);
                pos = lex_tag(p, kind == '{' ? '}' : '%', strip_after, start);
                emit(kind == '{' ? Tok::VarEnd : Tok::BlockEnd, "", pos);
            }
            line_starting = false;
            if (strip_after) {
                size_t q = pos;
                while (q < n && is_ws(src_[q])) ++q;
                if (q > pos && src_[q - 1] == '\n') line_starting = true;
                pos = q;
            } else if (o_.trim_blocks && kind != '{' && pos < n && src_[pos] == '\n') {
                ++pos;
                line_starting = true;
            }
        }
        emit(Tok::Eof, "", n);
        return std::move(toks_);
    }

private:
    int line_at(size_t pos) {
        while (line_pos_ < pos && line_pos_ < src_.size()) {
            if (src_[line_pos_] == '\n') ++line_;
            ++line_pos_;
        }
        return line_;
    }
    void emit(Tok t, std::string text, size_t pos) { toks_.push_back({t, std::move(text), line_at(pos)}); }

    // Tokens of one {{ }} / {% %} tag, from p to its closing delimiter; returns the offset
    // after the delimiter.
    size_t lex_tag(size_t p, char close, bool& strip_after, size_t tag_start) {
        const size_t n = src_.size();
        int depth = 0;
        static const char* two_char_ops[] = {"//", "**", "==", "!=", "<=", ">="};
        while (true) {
            while (p < n && is_ws(src_[p])) ++p;
            if (p >= n) fail(line_at(tag_start), std::string("unclosed tag, expected '") + close + "}'");
            if (depth == 0) {
                if (src_[p] == '-' && p + 2 < n && src_[p + 1] == close && src_[p + 2] == '}') {
                    strip_after = true;
                    return p + 3;
                }
                if (src_[p] == close && p + 1 < n && src_[p + 1] == '}') return p + 2;
            }
            char c = src_[p];
            if (c == '\'' || c == '"') {
                size_t q = p + 1;
                while (q < n && src_[q] != c) q += src_[q] == '\\' ? 2 : 1;
                if (q >= n) fail(line_at(p), "unterminated string literal");
                emit(Tok::String, decode_string(src_.substr(p + 1, q - p - 1), line_at(p)), p);
                p = q + 1;
            } else if (c >= '0' && c <= '9') {
                size_t q = p;
                auto digits = [&] { while (q < n && ((src_[q] >= '0' && src_[q] <= '9') || src_[q] == '_')) ++q; };
                digits();
                bool is_float = false;
                if (q + 1 < n && src_[q] == '.' && src_[q + 1] >= '0' && src_[q + 1] <= '9') {
                    ++q;
                    digits();
                    is_float = true;
                }
                if (q < n && (src_[q] == 'e' || src_[q] == 'E')) {
                    size_t r = q + 1;
                    if (r < n && (src_[r] == '+' || src_[r] == '-')) ++r;
                    if (r < n && src_[r] >= '0' && src_[r] <= '9') {
                        q = r;
                        digits();
                        is_float = true;
                    }
                }
                std::string num;
                for (size_t k = p; k < q; ++k)
                    if (src_[k] != '_') num += src_[k];
                emit(is_float ? Tok::Float : Tok::Int, num, p);
                p = q;
            } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                size_t q = p;
                while (q < n && (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
                emit(Tok::Name, src_.substr(p, q - p), p);
                p = q;
            } else {
                std::string op;
                for (const char* two : two_char_ops)
                    if (src_.compare(p, 2, two) == 0) op = two;
                if (op.empty()) {
                    if (!std::strchr("+-*/%~<>=.,:|()[]{}", c)) fail(line_at(p), std::string("unexpected character '") + c + "'");
                    op = std::string(1, c);
                }
                if (op == "(" || op == "[" || op == "{") ++depth;
                if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
                emit(Tok::Op, op, p);
                p += op.size();
            }
        }
    }

    LexOptions o_;
    std::string src_;
    std::vector<Token> toks_;
    size_t line_pos_ = 0;
    int line_ = 1;
};

class Parser {
public:
    explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

    Body parse_all() {
        std::string which;
        Body b = parse_body({}, which);
        return b;
    }

private:
    const Token& cur() const { return t_[i_]; }
    const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
    Token next() { Token t = t_[i_]; if (i_ + 1 < t_.size()) ++i_; return t; }
    bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
    bool is_name(const char* nm) const { return cur().type == Tok::Name && cur().text == nm; }
    static std::string describe(const Token& t) {
        switch (t.type) {
            case Tok::Eof: return "end of template";
            case Tok::BlockEnd: return "end of statement block";
            case Tok::VarEnd: return "end of print statement";
            case Tok::String: return "string";
            default: return "'" + t.text + "'";
        }
    }
    void expect_op(const char* op) {
        if (!is_op(op)) fail(cur().line, std::string("expected '") + op + "', got " + describe(cur()));
        next();
    }
    std::string expect_name() {
        if (cur().type != Tok::Name) fail(cur().line, "expected a name, got " + describe(cur()));
        return next().text;
    }
    void expect(Tok t, const char* what) {
        if (cur().type != t) fail(cur().line, std::string("expected ") + what + ", got " + describe(cur()));
        next();
    }

    Body parse_body(const std::set<std::string>& stops, std::string& which) {
        Body body;
        while (true) {
            const Token& t = cur();
            if (t.type == Tok::Eof) {
                if (!stops.empty()) fail(t.line, "unexpected end of template, expected '" + *stops.rbegin() + "'");
                return body;
            }
            if (t.type == Tok::Text) {
                auto s = std::make_unique<Stmt>(Stmt::Kind::Text, t.line);
                s->text = t.text;
                next();
                body.push_back(std::move(s));
            } else if (t.type == Tok::VarBegin) {
                auto s = std::make_unique<Stmt>(Stmt::Kind::Output, t.line);
                next();
                s->expr = parse_tuple_expr();
                expect(Tok::VarEnd, "'}}'");
                body.push_back(std::move(s));
            } else if (t.type == Tok::BlockBegin) {
                const Token& kw = peek();
                if (kw.type == Tok::Name && stops.count(kw.text)) {
                    next();
                    which = next().text;
                    return body;
                }
                next();
                body.push_back(parse_statement());
            } else {
                fail(t.line, "unexpected " + describe(t));
            }
        }
    }

    StmtPtr parse_statement() {
        int line = cur().line;
        if (cur().type != Tok::Name) fail(line, "expected a statement name, got " + describe(cur()));
        std::string kw = next().text;
        std::string which;
        if (kw == "include" || kw == "import" || kw == "from" || kw == "extends")
            throw Error("unsupported: " + kw + " at line " + std::to_string(line) +
                        " (a chat template is rendered on its own and cannot load other templates)");
        if (kw == "if") {
            auto s = std::make_unique<Stmt>(Stmt::Kind::If, line);
            s->conds.push_back(parse_expr());
            expect(Tok::BlockEnd, "'%}'");
            s->bodies.push_back(parse_body({"elif", "else", "endif"}, which));
            while (which == "elif") {
                s->conds.push_back(parse_expr());
                expect(Tok::BlockEnd, "'%}'");
                s->bodies.push_back(parse_body({"elif", "else", "endif"}, which));
            }
            if (which == "else") {
                expect(Tok::BlockEnd, "'%}'");
                s->else_body = parse_body({"endif"}, which);
            }
            expect(Tok::BlockEnd, "'%}'");
            return s;
        }
        if (kw == "for") {
            auto s = std::make_unique<Stmt>(Stmt::Kind::For, line);
            bool paren = is_op("(");
            if (paren) next();
            s->targets.push_back(expect_name());
            while (is_op(",")) {
                next();
                s->targets.push_back(expect_name());
            }
            if (paren) expect_op(")");
            if (!is_name("in")) fail(cur().line, "expected 'in', got " + describe(cur()));
            next();
            s->expr = parse_or();
            if (is_op(",")) fail(cur().line, "unsupported tuple as a for-loop iterable");
            if (is_name("if")) {
                next();
                s->cond = parse_expr();
            }
            if (is_name("recursive")) fail(cur().line, "unsupported construct 'for ... recursive'");
            expect(Tok::BlockEnd, "'%}'");
            s->body = parse_body({"else", "endfor"}, which);
            if (which == "else") {
                expect(Tok::BlockEnd, "'%}'");
                s->else_body = parse_body({"endfor"}, which);
            }
            expect(Tok::BlockEnd, "'%}'");
            return s;
        }
        if (kw == "set") {
            auto s = std::make_unique<Stmt>(Stmt::Kind::Set, line);
            std::string first = expect_name();
            if (is_op(".")) {
                next();
                auto ns = std::make_unique<Expr>(Expr::Kind::Name, line);
                ns->name = first;
                s->ns_target = std::move(ns);
                s->ns_attr = expect_name();
            } else {
                s->targets.push_back(first);
                while (is_op(",")) {
                    next();
                    s->targets.push_back(expect_name());
                }
            }
            if (is_op("=")) {
                next();
                s->expr = parse_tuple_expr();
                expect(Tok::BlockEnd, "'%}'");
            } else {
                if (s->targets.size() != 1) fail(line, "a block set needs one target name");
                if (is_op("|")) fail(line, "unsupported construct 'set' block with a filter");
                expect(Tok::BlockEnd, "'%}'");
                s->body = parse_body({"endset"}, which);
                expect(Tok::BlockEnd, "'%}'");
            }
            return s;
        }
        if (kw == "macro") {
            auto s = std::make_unique<Stmt>(Stmt::Kind::Macro, line);
            s->name = expect_name();
            expect_op("(");
            while (!is_op(")")) {
                std::string p = expect_name();
                ExprPtr def;
                if (is_op("=")) {
                    next();
                    def = parse_expr();
                }
                s->params.emplace_back(p, std::move(def));
                if (!is_op(")")) expect_op(",");
            }
            next();
            expect(Tok::BlockEnd, "'%}'");
            s->body = parse_body({"endmacro"}, which);
            if (cur().type == Tok::Name) next();  // {% endmacro name %}
            expect(Tok::BlockEnd, "'%}'");
            return s;
        }
        if (kw == "call") {
            auto s = std::make_unique<Stmt>(Stmt::Kind::CallBlock, line);
            if (is_op("(")) fail(line, "unsupported construct 'call' with caller arguments");
            s->expr = parse_expr();
            if (s->expr->kind != Expr::Kind::Call) fail(line, "expected a macro call after 'call'");
            expect(Tok::BlockEnd, "'%}'");
            s->body = parse_body({"endcall"}, which);
            expect(Tok::BlockEnd, "'%}'");
            return s;
        }
        if (kw == "filter") {
            auto s = std::make_unique<Stmt>(Stmt::Kind::FilterBlock, line);
            ExprPtr chain;
            do {
                if (is_op("|")) next();
                chain = parse_filter(std::move(chain));
            } while (is_op("|"));
            s->expr = std::move(chain);
            expect(Tok::BlockEnd, "'%}'");
            s->body = parse_body({"endfilter"}, which);
            expect(Tok::BlockEnd, "'%}'");
            return s;
        }
        if (kw == "generation") {
            auto s = std::make_unique<Stmt>(Stmt::Kind::Generation, line);
            expect(Tok::BlockEnd, "'%}'");
            s->body = parse_body({"endgeneration"}, which);
            expect(Tok::BlockEnd, "'%}'");
            return s;
        }
        if (kw == "break" || kw == "continue") {
            auto s = std::make_unique<Stmt>(kw == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, line);
            expect(Tok::BlockEnd, "'%}'");
            return s;
        }
        fail(line, "unsupported statement '" + kw + "'");
    }

    ExprPtr make(Expr::Kind k, int line) { return std::make_unique<Expr>(k, line); }

    ExprPtr parse_tuple_expr() {
        int line = cur().line;
        ExprPtr e = parse_expr();
        if (!is_op(",")) return e;
        auto t = make(Expr::Kind::TupleLit, line);
        t->args.push_back(std::move(e));
        while (is_op(",")) {
            next();
            if (cur().type == Tok::VarEnd || cur().type == Tok::BlockEnd) break;
            t->args.push_back(parse_expr());
        }
        return t;
    }

    ExprPtr parse_expr() {
        ExprPtr e = parse_or();
        while (is_name("if")) {
            int line = cur().line;
            next();
            auto c = make(Expr::Kind::Cond, line);
            c->a = std::move(e);
            c->b = parse_or();
            if (is_name("else")) {
                next();
                c->c = parse_expr();
            }
            e = std::move(c);
        }
        return e;
    }

    ExprPtr binary(const std::string& op, ExprPtr l, ExprPtr r, int line) {
        auto b = make(Expr::Kind::Binary, line);
        b->name = op;
        b->a = std::move(l);
        b->b = std::move(r);
        return b;
    }

    ExprPtr parse_or() {
        ExprPtr e = parse_and();
        while (is_name("or")) {
            int line = next().line;
            e = binary("or", std::move(e), parse_and(), line);
        }
        return e;
    }
    ExprPtr parse_and() {
        ExprPtr e = parse_not();
        while (is_name("and")) {
            int line = next().line;
            e = binary("and", std::move(e), parse_not(), line);
        }
        return e;
    }
    ExprPtr parse_not() {
        if (is_name("not")) {
            int line = next().line;
            auto u = make(Expr::Kind::Unary, line);
            u->name = "not";
            u->a = parse_not();
            return u;
        }
        return parse_compare();
    }
    // One comparison is a Binary; a chain (a < b <= c) is a Compare, evaluated as Python does:
    // pairwise, each operand once, stopping at the first false.
    ExprPtr parse_compare() {
        ExprPtr e = parse_math1();
        std::vector<std::pair<std::string, ExprPtr>> chain;
        int first_line = cur().line;
        while (true) {
            std::string op;
            int line = cur().line;
            if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                          cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
                op = next().text;
            } else if (is_name("in")) {
                next();
                op = "in";
            } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
                next();
                next();
                op = "not in";
            } else {
                break;
            }
            if (chain.empty()) first_line = line;
            chain.emplace_back(op, parse_math1());
        }
        if (chain.empty()) return e;
        if (chain.size() == 1) return binary(chain[0].first, std::move(e), std::move(chain[0].second), first_line);
        auto c = make(Expr::Kind::Compare, first_line);
        c->a = std::move(e);
        c->kwargs = std::move(chain);
        return c;
    }
    ExprPtr parse_math1() {
        ExprPtr e = parse_concat();
        while (is_op("+") || is_op("-")) {
            Token t = next();
            e = binary(t.text, std::move(e), parse_concat(), t.line);
        }
        return e;
    }
    ExprPtr parse_concat() {
        ExprPtr e = parse_math2();
        while (is_op("~")) {
            Token t = next();
            e = binary("~", std::move(e), parse_math2(), t.line);
        }
        return e;
    }
    ExprPtr parse_math2() {
        ExprPtr e = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            Token t = next();
            e = binary(t.text, std::move(e), parse_pow(), t.line);
        }
        return e;
    }
    ExprPtr parse_pow() {
        ExprPtr e = parse_unary(true);
        while (is_op("**")) {
            Token t = next();
            e = binary("**", std::move(e), parse_unary(true), t.line);
        }
        return e;
    }
    ExprPtr parse_unary(bool with_filter) {
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            Token t = next();
            e = make(Expr::Kind::Unary, t.line);
            e->name = t.text;
            e->a = parse_unary(false);
        } else {
            e = parse_primary();
        }
        e = parse_postfix(std::move(e));
        if (with_filter) e = parse_filter_expr(std::move(e));
        return e;
    }

    ExprPtr parse_primary() {
        const Token& t = cur();
        int line = t.line;
        if (t.type == Tok::Name) {
            std::string nm = next().text;
            auto e = make(Expr::Kind::Literal, line);
            if (nm == "true" || nm == "True") e->value = Value(true);
            else if (nm == "false" || nm == "False") e->value = Value(false);
            else if (nm == "none" || nm == "None") e->value = Value::none();
            else {
                e->kind = Expr::Kind::Name;
                e->name = nm;
            }
            return e;
        }
        if (t.type == Tok::String) {
            std::string s;
            while (cur().type == Tok::String) s += next().text;
            auto e = make(Expr::Kind::Literal, line);
            e->value = Value(s);
            return e;
        }
        if (t.type == Tok::Int) {
            auto e = make(Expr::Kind::Literal, line);
            try {
                e->value = Value(static_cast<int64_t>(std::stoll(t.text)));
            } catch (const std::exception&) {
                fail(line, "integer literal out of range: " + t.text);
            }
            next();
            return e;
        }
        if (t.type == Tok::Float) {
            auto e = make(Expr::Kind::Literal, line);
            e->value = Value(std::stod(t.text));
            next();
            return e;
        }
        if (is_op("(")) {
            next();
            if (is_op(")")) {
                next();
                return make(Expr::Kind::TupleLit, line);
            }
            ExprPtr e = parse_expr();
            if (is_op(",")) {
                auto tup = make(Expr::Kind::TupleLit, line);
                tup->args.push_back(std::move(e));
                while (is_op(",")) {
                    next();
                    if (is_op(")")) break;
                    tup->args.push_back(parse_expr());
                }
                e = std::move(tup);
            }
            expect_op(")");
            return e;
        }
        if (is_op("[")) {
            next();
            auto e = make(Expr::Kind::ListLit, line);
            while (!is_op("]")) {
                e->args.push_back(parse_expr());
                if (!is_op("]")) expect_op(",");
            }
            next();
            return e;
        }
        if (is_op("{")) {
            next();
            auto e = make(Expr::Kind::DictLit, line);
            while (!is_op("}")) {
                e->args.push_back(parse_expr());
                expect_op(":");
                e->args.push_back(parse_expr());
                if (!is_op("}")) expect_op(",");
            }
            next();
            return e;
        }
        fail(line, "unexpected " + describe(t));
    }

    void parse_call_args(Expr& call) {
        expect_op("(");
        while (!is_op(")")) {
            if (is_op("*") || is_op("**")) fail(cur().line, "unsupported construct '*args' in a call");
            if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
                std::string k = next().text;
                next();
                call.kwargs.emplace_back(k, parse_expr());
            } else {
                call.args.push_back(parse_expr());
            }
            if (!is_op(")")) expect_op(",");
        }
        next();
    }

    ExprPtr parse_postfix(ExprPtr e) {
        while (true) {
            int line = cur().line;
            if (is_op(".")) {
                next();
                if (cur().type == Tok::Int) {
                    auto s = make(Expr::Kind::Subscript, line);
                    s->a = std::move(e);
                    s->b = make(Expr::Kind::Literal, line);
                    s->b->value = Value(static_cast<int64_t>(std::stoll(next().text)));
                    e = std::move(s);
                } else {
                    auto a = make(Expr::Kind::Attr, line);
                    a->a = std::move(e);
                    a->name = expect_name();
                    e = std::move(a);
                }
            } else if (is_op("[")) {
                next();
                ExprPtr start, stop, step;
                if (!is_op(":")) start = parse_expr();
                if (is_op(":")) {
                    next();
                    if (!is_op("]") && !is_op(":")) stop = parse_expr();
                    if (is_op(":")) {
                        next();
                        if (!is_op("]")) step = parse_expr();
                    }
                    auto s = make(Expr::Kind::Slice, line);
                    s->a = std::move(e);
                    s->args.push_back(std::move(start));
                    s->args.push_back(std::move(stop));
                    s->args.push_back(std::move(step));
                    e = std::move(s);
                } else {
                    auto s = make(Expr::Kind::Subscript, line);
                    s->a = std::move(e);
                    s->b = std::move(start);
                    e = std::move(s);
                }
                expect_op("]");
            } else if (is_op("(")) {
                auto c = make(Expr::Kind::Call, line);
                c->a = std::move(e);
                parse_call_args(*c);
                e = std::move(c);
            } else {
                return e;
            }
        }
    }

    ExprPtr parse_filter(ExprPtr input) {
        int line = cur().line;
        auto f = make(Expr::Kind::Filter, line);
        f->a = std::move(input);
        f->name = expect_name();
        while (is_op(".")) {  // dotted filter names
            next();
            f->name += "." + expect_name();
        }
        if (is_op("(")) parse_call_args(*f);
        return f;
    }

    ExprPtr parse_filter_expr(ExprPtr e) {
        while (true) {
            if (is_op("|")) {
                next();
                e = parse_filter(std::move(e));
            } else if (is_name("is")) {
                int line = next().line;
                auto t = make(Expr::Kind::Test, line);
                if (is_name("not")) {
                    next();
                    t->negated = true;
                }
                t->a = std::move(e);
                t->name = expect_name();
                if (is_op("(")) {
                    parse_call_args(*t);
                } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
                            cur().type == Tok::Float || is_op("[") || is_op("{")) &&
                           !is_name("else") && !is_name("or") && !is_name("and")) {
                    if (is_name("is")) fail(cur().line, "you cannot chain multiple tests with is");
                    t->args.push_back(parse_postfix(parse_primary()));
                }
                e = std::move(t);
            } else if (is_op("(")) {
                auto c = make(Expr::Kind::Call, cur().line);
                c->a = std::move(e);
                parse_call_args(*c);
                e = std::move(c);
            } else {
                return e;
            }
        }
    }

    std::vector<Token> t_;
    size_t i_ = 0;
};

}  // namespace

Body parse_template(const std::string& source, const LexOptions& opts) {
    Lexer lx(source, opts);
    Parser p(lx.run());
    return p.parse_all();
}

}  // namespace hearth::chat::jinja
