// tiktoken.model (Kimi-K2) -> the byte-level BPE view hearth tokenizes with. tiktoken merges, in
// a piece, the adjacent pair whose concatenation has the lowest rank, after first looking the
// whole piece up; a BPE whose merge list is ordered by the rank of each merge's result, with
// ignore_merges, does the same. Each token's merge is the last step of tiktoken's own procedure
// on its bytes restricted to lower ranks (how transformers and llama.cpp convert these files).
#include <fstream>
#include <unordered_map>

#include "core/error.h"
#include "format/hf_import_detail.h"
#include "tokenizer/base.h"

namespace hearth::format::hf {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& p, const std::string& what) { throw Error(p.string() + ": " + what); }

// Standard base64 with padding; false on any other character or length.
bool base64_decode(const std::string& in, std::string& out) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    out.clear();
    if (in.empty() || in.size() % 4 != 0) return false;
    for (size_t i = 0; i < in.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = in[i + static_cast<size_t>(k)];
            if (c == '=' && i + 4 == in.size() && k >= 2) {
                v[k] = 0;
                ++pad;
            } else if (pad > 0 || (v[k] = val(c)) < 0) {
                return false;
            }
        }
        const uint32_t n = (static_cast<uint32_t>(v[0]) << 18) | (static_cast<uint32_t>(v[1]) << 12) |
                           (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
        out += static_cast<char>(n >> 16);
        if (pad < 2) out += static_cast<char>((n >> 8) & 0xFF);
        if (pad < 1) out += static_cast<char>(n & 0xFF);
    }
    return true;
}

std::string byte_chars(const std::string& bytes) {
    const auto& b2u = tokenizer::byte_to_unicode();
    std::string s;
    for (char c : bytes) s += b2u[static_cast<uint8_t>(c)];
    return s;
}

// The two parts tiktoken's merging leaves `token` in when only ranks below its own may merge;
// false when it does not end in exactly two (the token is then reachable only whole).
bool last_merge(const std::string& token, int64_t rank, const std::unordered_map<std::string, int64_t>& ranks,
                std::string& left, std::string& right) {
    std::vector<std::string> parts;
    for (char c : token) parts.emplace_back(1, c);
    while (parts.size() > 2) {
        int64_t best = rank;
        size_t at = 0;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
            auto it = ranks.find(parts[i] + parts[i + 1]);
            if (it != ranks.end() && it->second < best) best = it->second, at = i;
        }
        if (best == rank) return false;
        parts[at] += parts[at + 1];
        parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    }
    if (parts.size() != 2) return false;
    left = parts[0];
    right = parts[1];
    return true;
}

}  // namespace

void import_tiktoken(const fs::path& dir, const JsonObject& config, int64_t n_vocab, Metadata& kv,
                     std::vector<fs::path>& used) {
    const fs::path path = dir / "tiktoken.model";
    const fs::path tc_path = dir / "tokenizer_config.json";
    // The split pattern lives in Python code (tokenization_kimi.py), not in a data file: only
    // Kimi's, recognised by its tokenizer class, is known.
    const json tc = fs::exists(tc_path) ? read_json(tc_path) : json::object();
    const std::string auto_map = tc.contains("auto_map") ? tc["auto_map"].dump() : "";
    if (auto_map.find("tokenization_kimi") == std::string::npos)
        fail(path, "a tiktoken vocabulary without Kimi's tokenization_kimi.py in tokenizer_config.json's auto_map; "
                   "its split pattern is unknown (supported tiktoken tokenizers: Kimi-K2)");

    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot open");
    used.push_back(path);
    std::unordered_map<std::string, int64_t> ranks;
    std::vector<std::string> by_rank;
    std::string line, bytes;
    for (size_t ln = 1; std::getline(in, line); ++ln) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const size_t sp = line.find(' ');
        const std::string where = "line " + std::to_string(ln);
        if (sp == std::string::npos || !base64_decode(line.substr(0, sp), bytes))
            fail(path, where + " is not \"<base64 token> <rank>\"");
        int64_t rank = -1;
        try {
            size_t used_chars = 0;
            rank = std::stoll(line.substr(sp + 1), &used_chars);
            if (used_chars != line.size() - sp - 1) rank = -1;
        } catch (const std::exception&) {
        }
        if (rank < 0) fail(path, where + ": the rank is not a non-negative integer");
        if (rank >= n_vocab)
            fail(path, where + ": rank " + std::to_string(rank) + " is beyond config.json's vocab_size " +
                           std::to_string(n_vocab));
        if (!ranks.emplace(bytes, rank).second) fail(path, where + ": the token appears twice");
        if (static_cast<size_t>(rank) >= by_rank.size()) by_rank.resize(static_cast<size_t>(rank) + 1);
        if (!by_rank[static_cast<size_t>(rank)].empty()) fail(path, where + ": rank " + std::to_string(rank) + " is used twice");
        by_rank[static_cast<size_t>(rank)] = bytes;
    }
    if (by_rank.size() != ranks.size())
        fail(path, "ranks are not dense: " + std::to_string(ranks.size()) + " tokens but ranks up to " +
                       std::to_string(by_rank.size() - 1));
    for (int b = 0; b < 256; ++b)
        if (!ranks.count(std::string(1, static_cast<char>(b))))
            fail(path, "byte " + std::to_string(b) + " has no token; every byte needs one");

    ImportedVocab v;
    v.pre = "kimi-k2";
    v.tokens.resize(static_cast<size_t>(n_vocab));
    v.types.assign(static_cast<size_t>(n_vocab), kTokenUnused);
    std::string left, right;
    for (size_t r = 0; r < by_rank.size(); ++r) {
        v.tokens[r] = byte_chars(by_rank[r]);
        v.types[r] = kTokenNormal;
        v.ids[v.tokens[r]] = static_cast<int32_t>(r);
        if (by_rank[r].size() >= 2 && last_merge(by_rank[r], static_cast<int64_t>(r), ranks, left, right))
            v.merges.push_back(byte_chars(left) + " " + byte_chars(right));
    }
    // Kimi reserves the 256 ids after the ranks for special tokens, named or not.
    std::map<int64_t, std::string> named;
    if (tc.contains("added_tokens_decoder") && tc["added_tokens_decoder"].is_object()) {
        for (const auto& [id_text, e] : tc["added_tokens_decoder"].items()) {
            int64_t id = -1;
            try {
                id = std::stoll(id_text);
            } catch (const std::exception&) {
            }
            if (id < static_cast<int64_t>(by_rank.size()) || id >= n_vocab || !e.is_object() || !e.contains("content") ||
                !e["content"].is_string())
                fail(tc_path, "added_tokens_decoder entry \"" + id_text.substr(0, 20) +
                                  "\" is not an id after the tiktoken ranks with a \"content\" string");
            named[id] = e["content"].get<std::string>();
        }
    }
    const int64_t n_base = static_cast<int64_t>(by_rank.size());
    for (int64_t id = n_base; id < n_vocab; ++id) {
        const auto it = named.find(id);
        const bool reserved = id < n_base + 256;
        std::string text = it != named.end() ? it->second
                           : reserved        ? "<|reserved_token_" + std::to_string(id) + "|>"
                                             : "[PAD" + std::to_string(id) + "]";
        v.types[static_cast<size_t>(id)] = it != named.end() || reserved ? kTokenControl : kTokenUnused;
        if (!v.ids.emplace(text, static_cast<int32_t>(id)).second)
            fail(tc_path, "special token \"" + text.substr(0, 40) + "\" is also a vocabulary token");
        v.tokens[static_cast<size_t>(id)] = std::move(text);
    }
    write_vocab(dir, config, n_vocab, std::move(v), kv, used);
}

}  // namespace hearth::format::hf
