#include "tokenizer/bpe.h"

#include <algorithm>
#include <bit>
#include <queue>

#include "core/error.h"

namespace hearth::tokenizer {

BpeTokenizer::BpeTokenizer(VocabData data, const PreConfig& pre, const std::string& source)
    : TokenizerBase(data, pre.default_add_bos, false),
      pre_tok_(pre.patterns),
      ignore_merges_(pre.ignore_merges) {
    const auto& b2u = byte_to_unicode();
    for (size_t b = 0; b < 256; ++b) byte_token_[b] = find_token(b2u[b]);

    struct Entry {
        int32_t left;
        Merge m;
    };
    std::vector<Entry> entries;
    entries.reserve(data.merges.size());
    for (size_t r = 0; r < data.merges.size(); ++r) {
        const std::string_view m = data.merges[r];
        // Byte-level tokens never contain a space (it is stored as "Ġ"), so the single
        // space separates the two halves.
        size_t sp = m.find(' ', 1);
        if (sp == std::string::npos || sp + 1 >= m.size())
            throw Error(source + ": tokenizer.ggml.merges[" + std::to_string(r) + "] = \"" + std::string(m) +
                        "\" is not two tokens separated by a space");
        std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
        std::string joined = std::string(left) + std::string(right);
        int32_t a = find_token(left), b = find_token(right), c = find_token(joined);
        // Merges whose parts or result are missing can never apply; tokenizers skips them too.
        if (a < 0 || b < 0 || c < 0) continue;
        entries.push_back(Entry{a, Merge{b, static_cast<int32_t>(r), c}});
    }
    // The first (best-ranked) merge of a pair wins: a stable sort keeps rank order among equal
    // pairs, and the later duplicates are dropped.
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
        return x.left != y.left ? x.left < y.left : x.m.right < y.m.right;
    });
    merge_begin_.assign(tokens_.size() + 1, 0);
    merges_.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0 && entries[i].left == entries[i - 1].left && entries[i].m.right == entries[i - 1].m.right) continue;
        merges_.push_back(entries[i].m);
        ++merge_begin_[static_cast<size_t>(entries[i].left) + 1];
    }
    for (size_t t = 1; t < merge_begin_.size(); ++t) merge_begin_[t] += merge_begin_[t - 1];

    size_t cap = 16;
    while (cap < merges_.size() + merges_.size() / 2) cap *= 2;  // load factor <= 2/3
    merge_index_.assign(cap, -1);
    merge_shift_ = 64 - std::countr_zero(cap);
    for (size_t left = 0; left + 1 < merge_begin_.size(); ++left)
        for (uint32_t i = merge_begin_[left]; i < merge_begin_[left + 1]; ++i) {
            size_t h = merge_slot(static_cast<int32_t>(left), merges_[i].right);
            while (merge_index_[h] >= 0) h = (h + 1) & (cap - 1);
            merge_index_[h] = static_cast<int32_t>(i);
        }
}

const BpeTokenizer::Merge* BpeTokenizer::find_merge(int32_t left, int32_t right) const {
    const uint32_t lo = merge_begin_[static_cast<size_t>(left)], hi = merge_begin_[static_cast<size_t>(left) + 1];
    const size_t mask = merge_index_.size() - 1;
    for (size_t h = merge_slot(left, right);; h = (h + 1) & mask) {
        const int32_t i = merge_index_[h];
        if (i < 0) return nullptr;
        const uint32_t u = static_cast<uint32_t>(i);
        if (u >= lo && u < hi && merges_[u].right == right) return &merges_[u];
    }
}

void BpeTokenizer::encode_fragment(std::string_view text, bool, std::vector<int32_t>& out) const {
    std::vector<std::string_view> words;
    pre_tok_.split(text, words);
    for (std::string_view w : words) encode_word(w, out);
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (ignore_merges_) {
        std::string mapped;
        const auto& b2u = byte_to_unicode();
        for (char ch : word) mapped += b2u[static_cast<uint8_t>(ch)];
        int32_t id = find_token(mapped);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }

    // One symbol per byte, in a linked list so merges are O(1); a heap orders candidate
    // pairs by (rank, position) exactly as the reference merges them.
    struct Sym {
        int32_t id;
        int32_t prev, next;
    };
    std::vector<Sym> syms;
    syms.reserve(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
        int32_t id = byte_token_[static_cast<uint8_t>(word[i])];
        if (id < 0) continue;  // a vocabulary without this byte cannot represent it
        int32_t n = static_cast<int32_t>(syms.size());
        syms.push_back({id, n - 1, n + 1});
    }
    if (syms.empty()) return;
    syms.back().next = -1;

    struct Cand {
        int32_t rank, pos, left_id, right_id;
        bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](int32_t l) {
        if (l < 0) return;
        int32_t r = syms[static_cast<size_t>(l)].next;
        if (r < 0) return;
        if (const Merge* m = find_merge(syms[static_cast<size_t>(l)].id, syms[static_cast<size_t>(r)].id))
            heap.push({m->rank, l, syms[static_cast<size_t>(l)].id, syms[static_cast<size_t>(r)].id});
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i);

    while (!heap.empty()) {
        Cand c = heap.top();
        heap.pop();
        Sym& l = syms[static_cast<size_t>(c.pos)];
        // Stale entry: the left symbol was merged away or changed, or its neighbour did.
        if (l.id != c.left_id || l.next < 0) continue;
        Sym& r = syms[static_cast<size_t>(l.next)];
        if (r.id != c.right_id) continue;
        l.id = find_merge(c.left_id, c.right_id)->result;
        r.id = -1;
        l.next = r.next;
        if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = c.pos;
        push(l.prev);
        push(c.pos);
    }
    for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) out.push_back(syms[static_cast<size_t>(i)].id);
}

std::string BpeTokenizer::token_to_piece(int32_t id, bool special) const {
    const std::string_view text = token_text(id);
    switch (types_[static_cast<size_t>(id)]) {
        case TokenType::Control:
        case TokenType::Unknown:
            return special ? std::string(text) : std::string();
        case TokenType::UserDefined:
            return std::string(text);
        default:
            break;
    }
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        size_t n = utf8_decode(text, i, cp);
        int b = byte_from_codepoint(cp);
        // A character outside the byte table cannot come from byte-level encoding; keep it.
        if (b >= 0)
            out += static_cast<char>(b);
        else
            out.append(text, i, n);
        i += n;
    }
    return out;
}

}  // namespace hearth::tokenizer
