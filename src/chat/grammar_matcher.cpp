#include "chat/grammar_matcher.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace hearth::chat {

namespace {

uint8_t lowest(const std::array<uint64_t, 4>& c) {
    for (int b = 0; b < 256; ++b)
        if ((c[static_cast<size_t>(b) >> 6] >> (b & 63)) & 1) return static_cast<uint8_t>(b);
    return 0;
}

// Grows `st` until its top is a byte class (or it is empty) and adds the results to out.
void expand(const Grammar& g, GrammarMatcher::Stack st, std::vector<GrammarMatcher::Stack>& out, int guard = 0) {
    if (guard > 4096) throw Error("grammar: recursion too deep while expanding a rule (is it left-recursive?)");
    while (true) {
        if (st.empty()) {
            out.push_back(std::move(st));
            return;
        }
        const auto& e = g.elems[static_cast<size_t>(st.back())];
        if (e.kind == Grammar::Elem::End) {
            st.pop_back();
            continue;
        }
        if (e.kind == Grammar::Elem::Class) {
            out.push_back(std::move(st));
            return;
        }
        // A reference: the continuation stays below (dropped when it is the end of its
        // alternative, so right recursion does not grow the stack).
        int32_t next = st.back() + 1;
        st.pop_back();
        while (g.elems[static_cast<size_t>(next)].kind == Grammar::Elem::End) {
            if (st.empty()) {
                next = -1;
                break;
            }
            next = st.back();
            st.pop_back();
        }
        if (next >= 0) st.push_back(next);
        const auto& alts = g.rules[static_cast<size_t>(e.arg)];
        for (size_t i = 0; i < alts.size(); ++i) {
            GrammarMatcher::Stack s2 = st;
            s2.push_back(alts[i]);
            expand(g, std::move(s2), out, guard + 1);
        }
        return;
    }
}

void dedupe(std::vector<GrammarMatcher::Stack>& v) {
    if (v.size() < 2) return;
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}
}  // namespace

// Shortest derivations by relaxation until nothing shortens.
void compute_shortest(Grammar& g, const std::string& what) {
    const size_t none = std::numeric_limits<size_t>::max();
    std::vector<size_t> len(g.rules.size(), none);
    g.shortest.assign(g.rules.size(), "");
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < g.rules.size(); ++r) {
            for (int32_t start : g.rules[r]) {
                std::string s;
                bool ok = true;
                for (size_t p = static_cast<size_t>(start); g.elems[p].kind != Grammar::Elem::End; ++p) {
                    const auto& e = g.elems[p];
                    if (e.kind == Grammar::Elem::Class) {
                        s += static_cast<char>(lowest(g.classes[static_cast<size_t>(e.arg)]));
                    } else if (len[static_cast<size_t>(e.arg)] == none) {
                        ok = false;
                        break;
                    } else {
                        s += g.shortest[static_cast<size_t>(e.arg)];
                    }
                }
                if (ok && s.size() < len[r]) {
                    len[r] = s.size();
                    g.shortest[r] = s;
                    changed = true;
                }
            }
        }
    }
    for (size_t r = 0; r < g.rules.size(); ++r)
        if (len[r] == none)
            throw Error(what + ": " + (r < g.rule_names.size() ? "rule '" + g.rule_names[r] + "'" : std::string("a rule")) +
                        " derives no finite text (every alternative recurses)");
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> g) : g_(std::move(g)) {
    for (int32_t start : g_->rules[static_cast<size_t>(g_->root)]) expand(*g_, Stack{start}, stacks_);
    dedupe(stacks_);
}

void GrammarMatcher::advance(const Grammar& g, const std::vector<Stack>& from, uint8_t b, std::vector<Stack>& to) {
    to.clear();
    for (const auto& st : from) {
        if (st.empty()) continue;
        const auto& e = g.elems[static_cast<size_t>(st.back())];
        if (!g.class_has(e.arg, b)) continue;
        Stack s2 = st;
        s2.back() += 1;
        expand(g, std::move(s2), to);
    }
    dedupe(to);
}

bool GrammarMatcher::accept_byte(uint8_t b) {
    std::vector<Stack> next;
    advance(*g_, stacks_, b, next);
    if (next.empty()) return false;
    stacks_ = std::move(next);
    return true;
}

bool GrammarMatcher::accept_bytes(const std::string& bytes) {
    std::vector<Stack> cur = stacks_, next;
    for (unsigned char c : bytes) {
        advance(*g_, cur, c, next);
        if (next.empty()) return false;
        cur.swap(next);
    }
    stacks_ = std::move(cur);
    return true;
}

bool GrammarMatcher::complete() const {
    for (const auto& s : stacks_)
        if (s.empty()) return true;
    return false;
}

std::string GrammarMatcher::shortest_completion() const {
    std::string best;
    bool have = false;
    for (const auto& st : stacks_) {
        std::string s;
        for (size_t f = st.size(); f-- > 0;) {
            for (size_t p = static_cast<size_t>(st[f]); g_->elems[p].kind != Grammar::Elem::End; ++p) {
                const auto& e = g_->elems[p];
                if (e.kind == Grammar::Elem::Class) s += static_cast<char>(lowest(g_->classes[static_cast<size_t>(e.arg)]));
                else s += g_->shortest[static_cast<size_t>(e.arg)];
            }
            if (have && s.size() >= best.size()) break;
        }
        if (!have || s.size() < best.size()) {
            best = std::move(s);
            have = true;
        }
    }
    return best;
}

// ----------------------------------------------------------------------------- tokens

std::shared_ptr<const TokenIndex> TokenIndex::build(const tokenizer::Tokenizer& tok) {
    auto ix = std::make_shared<TokenIndex>();
    ix->tok = &tok;
    const int32_t n = tok.n_vocab();
    ix->bytes.resize(static_cast<size_t>(n));
    ix->eog.resize(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
        ix->eog[static_cast<size_t>(i)] = tok.is_eog(i) ? 1 : 0;
        auto ty = tok.token_type(i);
        if (ty == tokenizer::TokenType::Control || ty == tokenizer::TokenType::Unused) continue;
        ix->bytes[static_cast<size_t>(i)] = tok.token_to_piece(i, false);
        if (!ix->bytes[static_cast<size_t>(i)].empty() && !ix->eog[static_cast<size_t>(i)]) ix->sorted.push_back(i);
    }
    std::sort(ix->sorted.begin(), ix->sorted.end(),
              [&](int32_t a, int32_t b) { return ix->bytes[static_cast<size_t>(a)] < ix->bytes[static_cast<size_t>(b)]; });
    ix->lcp.assign(ix->sorted.size(), 0);
    for (size_t i = 1; i < ix->sorted.size(); ++i) {
        const std::string& a = ix->bytes[static_cast<size_t>(ix->sorted[i - 1])];
        const std::string& b = ix->bytes[static_cast<size_t>(ix->sorted[i])];
        uint32_t k = 0;
        while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
        ix->lcp[i] = k;
    }
    return ix;
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenIndex> index,
                                     std::string label)
    : g_(std::move(g)), ix_(std::move(index)), m_(g_), label_(std::move(label)) {
    need_ = tokens_needed(m_);
}

int64_t GrammarConstraint::tokens_needed(const GrammarMatcher& m) const {
    std::string c = m.shortest_completion();
    if (c.empty()) return 0;
    return static_cast<int64_t>(ix_->tok->encode(c, false, false).size());
}

namespace {
constexpr int64_t kBudgetMargin = 32;  // budget checks start this many tokens before they bind
struct Timer {
    double& acc;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~Timer() { acc += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};
}  // namespace

bool GrammarConstraint::allows(int32_t id, int64_t tokens_left) {
    Timer t{stats_.seconds};
    ++stats_.allows_calls;
    if (id < 0 || static_cast<size_t>(id) >= ix_->bytes.size()) return false;
    if (ix_->eog[static_cast<size_t>(id)]) return m_.complete();
    const std::string& b = ix_->bytes[static_cast<size_t>(id)];
    if (b.empty()) return false;
    GrammarMatcher next = m_;
    if (!next.accept_bytes(b)) return false;
    if (tokens_left > need_ + kBudgetMargin) return true;
    return tokens_needed(next) <= tokens_left - 1;
}

int32_t GrammarConstraint::forced_token() const {
    std::string c = m_.shortest_completion();
    if (c.empty()) {
        for (size_t i = 0; i < ix_->eog.size(); ++i)
            if (ix_->eog[i]) return static_cast<int32_t>(i);
        return -1;
    }
    auto ids = ix_->tok->encode(c, false, false);
    if (!ids.empty() && ix_->bytes[static_cast<size_t>(ids[0])].size() <= c.size() &&
        c.compare(0, ix_->bytes[static_cast<size_t>(ids[0])].size(), ix_->bytes[static_cast<size_t>(ids[0])]) == 0 &&
        !ix_->bytes[static_cast<size_t>(ids[0])].empty())
        return ids[0];
    // Fallback: the longest token that is a prefix of the completion.
    int32_t best = -1;
    size_t best_len = 0;
    for (int32_t id : ix_->sorted) {
        const std::string& b = ix_->bytes[static_cast<size_t>(id)];
        if (b.size() > best_len && b.size() <= c.size() && c.compare(0, b.size(), b) == 0) {
            best = id;
            best_len = b.size();
        }
    }
    return best;
}

int32_t GrammarConstraint::intern(std::vector<GrammarMatcher::Stack>&& s) const {
    auto it = intern_.find(s);
    if (it != intern_.end()) return it->second;
    const int32_t id = static_cast<int32_t>(sets_.size());
    sets_.push_back(s);
    std::array<int32_t, 256> t;
    t.fill(-2);
    trans_.push_back(t);
    intern_.emplace(std::move(s), id);
    return id;
}

int32_t GrammarConstraint::step(int32_t state, uint8_t b) const {
    int32_t t = trans_[static_cast<size_t>(state)][b];
    if (t != -2) return t;
    std::vector<GrammarMatcher::Stack> next;
    GrammarMatcher::advance(*g_, sets_[static_cast<size_t>(state)], b, next);
    t = next.empty() ? -1 : intern(std::move(next));
    trans_[static_cast<size_t>(state)][b] = t;
    return t;
}

std::vector<int32_t> GrammarConstraint::valid_tokens() const {
    std::vector<int32_t> out;
    if (m_.complete())
        for (size_t i = 0; i < ix_->eog.size(); ++i)
            if (ix_->eog[i]) out.push_back(static_cast<int32_t>(i));
    if (sets_.size() > 15000) {  // bound the memory (cleared only between scans)
        intern_.clear();
        sets_.clear();
        trans_.clear();
    }
    // states[d]: the state after the first d bytes of the previous token (sorted order, so
    // consecutive tokens share the states of their common prefix).
    std::vector<int32_t> states = {intern(std::vector<GrammarMatcher::Stack>(m_.stacks()))};
    const std::string* prev = nullptr;
    for (size_t i = 0; i < ix_->sorted.size(); ++i) {
        const int32_t id = ix_->sorted[i];
        const std::string& b = ix_->bytes[static_cast<size_t>(id)];
        size_t common = prev ? std::min<size_t>(ix_->lcp[i], states.size() - 1) : 0;
        states.resize(common + 1);
        bool ok = true;
        for (size_t d = common; d < b.size(); ++d) {
            int32_t nx = step(states[d], static_cast<uint8_t>(b[d]));
            if (nx < 0) {
                ok = false;
                break;
            }
            states.push_back(nx);
        }
        prev = &b;
        if (ok) out.push_back(id);
    }
    return out;
}

void GrammarConstraint::mask(float* logits, int64_t n_vocab, int64_t tokens_left) {
    Timer t{stats_.seconds};
    ++stats_.mask_calls;
    const float ninf = -std::numeric_limits<float>::infinity();
    std::vector<uint8_t> keep(static_cast<size_t>(n_vocab), 0);
    if (tokens_left <= need_ + kBudgetMargin) {
        // Near the limit: the best-scoring valid tokens that still leave room to close the
        // value; when none of the first few does, the next token of the shortest closing text.
        std::vector<int32_t> valid = valid_tokens();
        std::sort(valid.begin(), valid.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
        int32_t pick = -1;
        for (size_t i = 0; i < valid.size() && i < 16 && pick < 0; ++i) {
            const int32_t id = valid[i];
            if (id >= n_vocab) continue;
            if (ix_->eog[static_cast<size_t>(id)]) {
                pick = id;
                break;
            }
            GrammarMatcher next = m_;
            if (next.accept_bytes(ix_->bytes[static_cast<size_t>(id)]) && tokens_needed(next) <= tokens_left - 1) pick = id;
        }
        if (pick < 0) {
            pick = forced_token();
            ++stats_.forced;
        }
        if (pick >= 0 && pick < n_vocab) keep[static_cast<size_t>(pick)] = 1;
    } else {
        for (int32_t id : valid_tokens())
            if (id < n_vocab) keep[static_cast<size_t>(id)] = 1;
    }
    bool any = false;
    for (int64_t i = 0; i < n_vocab; ++i) {
        if (!keep[static_cast<size_t>(i)]) logits[i] = ninf;
        else any = true;
    }
    if (!any) throw Error(label_ + ": no token can continue the output");
}

void GrammarConstraint::accept(int32_t id) {
    Timer t{stats_.seconds};
    if (id < 0 || static_cast<size_t>(id) >= ix_->bytes.size()) throw Error(label_ + ": bad token id");
    if (ix_->eog[static_cast<size_t>(id)]) return;
    if (!m_.accept_bytes(ix_->bytes[static_cast<size_t>(id)]))
        throw Error(label_ + ": token " + std::to_string(id) + " does not continue the output");
    need_ = tokens_needed(m_);
}

}  // namespace hearth::chat
