#pragma once
// Reader for the reference-logits fixtures written by tools/make_tiny_models.py:
// 'HLOG', u32 n_prompts, u32 n_vocab, then per prompt u32 n_tokens, i32 ids[n_tokens],
// f32 logits[n_tokens * n_vocab] (all little-endian).
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

struct ReferencePrompt {
    std::vector<int32_t> ids;
    std::vector<float> logits;  // n_tokens x n_vocab
};

struct ReferenceLogits {
    uint32_t n_vocab = 0;
    std::vector<ReferencePrompt> prompts;
};

inline ReferenceLogits read_logits_fixture(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    auto u32 = [&] {
        uint32_t v = 0;
        in.read(reinterpret_cast<char*>(&v), 4);
        if (!in) throw std::runtime_error("truncated " + path);
        return v;
    };
    char magic[4];
    in.read(magic, 4);
    if (!in || std::memcmp(magic, "HLOG", 4) != 0) throw std::runtime_error("bad magic in " + path);
    ReferenceLogits r;
    uint32_t n = u32();
    r.n_vocab = u32();
    for (uint32_t p = 0; p < n; ++p) {
        ReferencePrompt rp;
        uint32_t nt = u32();
        rp.ids.resize(nt);
        rp.logits.resize(static_cast<size_t>(nt) * r.n_vocab);
        in.read(reinterpret_cast<char*>(rp.ids.data()), static_cast<std::streamsize>(nt * 4));
        in.read(reinterpret_cast<char*>(rp.logits.data()), static_cast<std::streamsize>(rp.logits.size() * 4));
        if (!in) throw std::runtime_error("truncated " + path);
        r.prompts.push_back(std::move(rp));
    }
    return r;
}
