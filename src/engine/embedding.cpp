#include "engine/embedding.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/model.h"

namespace hearth::engine {

Pooling parse_pooling(const std::string& s) {
    if (s == "mean") return Pooling::kMean;
    if (s == "last") return Pooling::kLast;
    throw Error("pooling must be \"mean\" or \"last\", got \"" + s + "\"");
}

const char* pooling_name(Pooling p) { return p == Pooling::kMean ? "mean" : "last"; }

std::vector<float> embed(const model::Model& m, ThreadPool& pool, const std::vector<int32_t>& tokens, Pooling pooling,
                         int64_t n_batch, model::ScratchArena& scratch) {
    if (tokens.empty()) throw Error("an embedding input is empty");
    const int64_t n = static_cast<int64_t>(tokens.size());
    const int64_t d = m.hparams().n_embd;
    if (n_batch <= 0) n_batch = 256;
    // F32: the cache lives only for this call, and exact keys keep embeddings reproducible.
    model::KVCache cache = m.make_cache(n, DType::F32);
    std::vector<double> sum(static_cast<size_t>(d), 0.0);
    std::vector<float> rows;
    for (int64_t at = 0; at < n; at += n_batch) {
        const int64_t take = std::min(n_batch, n - at);
        const bool last_chunk = at + take == n;
        model::Logits want = model::Logits::kAll;
        if (pooling == Pooling::kLast) want = last_chunk ? model::Logits::kLast : model::Logits::kNone;
        const model::SeqChunk c{&cache, tokens.data() + at, take, want};
        rows.resize(static_cast<size_t>(want == model::Logits::kAll ? take : 1) * static_cast<size_t>(d));
        const int64_t got = m.forward_batch(pool, std::span<const model::SeqChunk>(&c, 1), rows.data(), scratch,
                                            model::Output::kHidden);
        for (int64_t r = 0; r < got; ++r)
            for (int64_t j = 0; j < d; ++j) sum[static_cast<size_t>(j)] += rows[static_cast<size_t>(r * d + j)];
    }
    double norm = 0.0;
    for (double v : sum) norm += v * v;
    norm = std::sqrt(norm);
    // Mean pooling divides by n, which normalisation cancels; only the direction is kept.
    std::vector<float> out(static_cast<size_t>(d), 0.0f);
    if (norm > 0)
        for (int64_t j = 0; j < d; ++j) out[static_cast<size_t>(j)] = static_cast<float>(sum[static_cast<size_t>(j)] / norm);
    return out;
}

}  // namespace hearth::engine
