#include "model/architecture.h"

#include <array>

#include "core/error.h"
#include "format/gguf.h"

namespace hearth::model {
namespace {

constexpr std::array<ArchSpec, 3> kArchs{{
    {"llama", "Llama / SmolLM / Mistral", RopeStyle::kNormal, false, false},
    {"qwen2", "Qwen2 / Qwen2.5 / DeepSeek-R1 distills", RopeStyle::kNeox, true, false},
    {"qwen3", "Qwen3 (dense)", RopeStyle::kNeox, false, true},
}};

}  // namespace

const ArchSpec* find_arch(const std::string& name) {
    for (const auto& a : kArchs)
        if (name == a.name) return &a;
    return nullptr;
}

std::string supported_arch_list() {
    std::string s;
    for (const auto& a : kArchs) {
        if (!s.empty()) s += ", ";
        s += a.name;
    }
    return s;
}

HParams read_hparams(const format::GGUFFile& f, const ArchSpec& spec) {
    HParams hp;
    hp.arch = spec.name;
    const std::string p = hp.arch + ".";
    auto need = [&](const char* key) { return f.get_int(p + key); };
    hp.n_layer = need("block_count");
    hp.n_embd = need("embedding_length");
    hp.n_ff = need("feed_forward_length");
    hp.n_head = need("attention.head_count");
    hp.n_head_kv = f.get_int(p + "attention.head_count_kv", hp.n_head);
    hp.n_ctx_train = f.get_int(p + "context_length", 2048);
    auto bad = [&](const std::string& what) { throw Error(f.path() + ": " + what); };
    if (hp.n_layer <= 0 || hp.n_layer > 4096) bad("block_count out of range");
    if (hp.n_embd <= 0 || hp.n_ff <= 0 || hp.n_head <= 0 || hp.n_head_kv <= 0)
        bad("non-positive width or head count");
    if (hp.n_head % hp.n_head_kv != 0)
        bad("attention.head_count (" + std::to_string(hp.n_head) + ") is not a multiple of head_count_kv (" +
            std::to_string(hp.n_head_kv) + ")");
    hp.head_dim_k = f.get_int(p + "attention.key_length", hp.n_embd / hp.n_head);
    hp.head_dim_v = f.get_int(p + "attention.value_length", hp.head_dim_k);
    if (hp.head_dim_k <= 0 || hp.head_dim_v <= 0 || hp.head_dim_k % 2 != 0) bad("bad attention head width");
    hp.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon", 1e-5));
    hp.rope_base = static_cast<float>(f.get_float(p + "rope.freq_base", 10000.0));
    hp.rope_dims = f.get_int(p + "rope.dimension_count", hp.head_dim_k);
    if (hp.rope_dims <= 0 || hp.rope_dims > hp.head_dim_k || hp.rope_dims % 2 != 0) bad("bad rope.dimension_count");
    hp.rope_style = spec.rope_style;

    std::string scaling = f.get_string(p + "rope.scaling.type", "none");
    double factor = f.get_float(p + "rope.scaling.factor", 1.0);
    if (scaling == "none" || factor == 1.0 || factor == 0.0) {
        hp.rope_scaling = RopeScaling::kNone;
    } else if (scaling == "linear") {
        hp.rope_scaling = RopeScaling::kLinear;
        hp.rope_scale_factor = static_cast<float>(factor);
    } else {
        bad("rope scaling type '" + scaling + "' is not supported for " + hp.arch + " yet (supported: none, linear)");
    }
    hp.n_vocab = f.get_int(p + "vocab_size", 0);  // else taken from the embedding tensor
    return hp;
}

}  // namespace hearth::model
