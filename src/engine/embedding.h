#pragma once
// Text embeddings from a decoder model: the final-norm hidden state of every input token
// (Model::forward_batch with Output::kHidden), pooled into one vector and L2-normalised.
// Each input runs in a fresh KV cache of its own length, so inputs never see each other and
// nothing is generated.
#include <cstdint>
#include <string>
#include <vector>

namespace hearth {
class ThreadPool;
namespace model {
class Model;
class ScratchArena;
}  // namespace model
}  // namespace hearth

namespace hearth::engine {

// kMean: the average over all input tokens (the default: it uses every token and does not
// depend on how the input ends). kLast: the last token's state, which is what decoder-only
// embedding models trained with last-token pooling expect.
enum class Pooling { kMean, kLast };

// "mean" / "last"; throws hearth::Error naming the accepted values otherwise.
Pooling parse_pooling(const std::string& s);
const char* pooling_name(Pooling p);

// One embedding (n_embd floats, unit L2 norm; all zeros only if the state itself is zero).
// Throws hearth::Error for an empty input or an out-of-vocabulary id. n_batch bounds the
// tokens per forward pass.
std::vector<float> embed(const model::Model& m, ThreadPool& pool, const std::vector<int32_t>& tokens, Pooling pooling,
                         int64_t n_batch, model::ScratchArena& scratch);

}  // namespace hearth::engine
