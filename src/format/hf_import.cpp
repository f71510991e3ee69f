// config.json -> GGUF metadata and safetensors tensors -> GGUF tensors (names, shapes, the
// layout changes listed in hf_import.h). The key and name mapping follows what llama.cpp's
// convert_hf_to_gguf.py writes for each family, so a directory and its converted GGUF file
// give the same view.
#include "format/hf_import.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <numbers>
#include <set>
#include <sstream>

#include "core/error.h"
#include "format/gguf.h"
#include "format/hf_fp8.h"
#include "format/hf_import_detail.h"
#include "format/safetensors.h"

namespace hearth::format {
namespace fs = std::filesystem;
using namespace hf;

namespace hf {

json read_json(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw Error(path.string() + ": not valid JSON");
    if (!j.is_object()) throw Error(path.string() + ": expected a JSON object at the top level");
    return j;
}

const json* JsonObject::get(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
}

void JsonObject::fail(const std::string& key, const std::string& what) const {
    throw Error(file_ + ": field \"" + key + "\" " + what);
}

int64_t JsonObject::i(const std::string& key) const {
    if (!has(key)) fail(key, "is missing");
    return i(key, 0);
}

int64_t JsonObject::i(const std::string& key, int64_t def) const {
    const json* v = get(key);
    if (!v) return def;
    if (v->is_number_unsigned()) {
        if (v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) fail(key, "is too large");
        return static_cast<int64_t>(v->get<uint64_t>());
    }
    if (v->is_number_integer()) return v->get<int64_t>();
    // Some configs write integral values as floats (2048.0).
    if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() && std::abs(v->get<double>()) < 9e15)
        return static_cast<int64_t>(v->get<double>());
    fail(key, "must be an integer, got " + v->dump().substr(0, 40));
}

double JsonObject::f(const std::string& key) const {
    if (!has(key)) fail(key, "is missing");
    return f(key, 0.0);
}

double JsonObject::f(const std::string& key, double def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) fail(key, "must be a number, got " + v->dump().substr(0, 40));
    return v->get<double>();
}

bool JsonObject::b(const std::string& key, bool def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_boolean()) fail(key, "must be true or false, got " + v->dump().substr(0, 40));
    return v->get<bool>();
}

std::string JsonObject::s(const std::string& key, const std::string& def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_string()) fail(key, "must be a string, got " + v->dump().substr(0, 40));
    return v->get<std::string>();
}

GGUFValue u32(uint64_t v) {
    GGUFValue g;
    g.type = GGUFType::UINT32;
    g.v = v;
    return g;
}
GGUFValue i32(int64_t v) {
    GGUFValue g;
    g.type = GGUFType::INT32;
    g.v = v;
    return g;
}
GGUFValue f32(double v) {
    GGUFValue g;
    g.type = GGUFType::FLOAT32;
    g.v = static_cast<double>(static_cast<float>(v));  // what a GGUF file would store
    return g;
}
GGUFValue boolean(bool v) {
    GGUFValue g;
    g.type = GGUFType::BOOL;
    g.v = v;
    return g;
}
GGUFValue str(std::string v) {
    GGUFValue g;
    g.type = GGUFType::STRING;
    g.v = std::move(v);
    return g;
}
namespace {
// An ARRAY value of elem_type `elem` with make(item) for each of items.
template <class Items, class Make>
GGUFValue array_value(GGUFType elem, Items& items, Make make) {
    GGUFValue g;
    g.type = GGUFType::ARRAY;
    g.elem_type = elem;
    auto a = std::make_shared<GGUFArray>();
    a->reserve(items.size());
    for (auto& x : items) a->push_back(make(x));
    g.v = std::move(a);
    return g;
}
}  // namespace

GGUFValue str_array(std::vector<std::string> v) {
    return array_value(GGUFType::STRING, v, [](std::string& s) { return str(std::move(s)); });
}
GGUFValue i32_array(const std::vector<int32_t>& v) {
    return array_value(GGUFType::INT32, v, [](int32_t x) { return i32(x); });
}
GGUFValue f64_array(const std::vector<double>& v) {
    return array_value(GGUFType::FLOAT64, v, [](double x) {
        GGUFValue e;
        e.type = GGUFType::FLOAT64;
        e.v = x;
        return e;
    });
}

}  // namespace hf

namespace {

enum class Kind { kLlama, kQwen2, kQwen3, kQwen3Moe, kDeepseekV2, kDeepseekV3, kGlm4Moe };

struct Family {
    const char* hf_class;
    const char* arch;
    Kind kind;
};

constexpr Family kFamilies[] = {
    {"LlamaForCausalLM", "llama", Kind::kLlama},
    {"MistralForCausalLM", "llama", Kind::kLlama},
    {"Qwen2ForCausalLM", "qwen2", Kind::kQwen2},
    {"Qwen3ForCausalLM", "qwen3", Kind::kQwen3},
    {"Qwen3MoeForCausalLM", "qwen3moe", Kind::kQwen3Moe},
    {"DeepseekV2ForCausalLM", "deepseek2", Kind::kDeepseekV2},
    {"DeepseekV3ForCausalLM", "deepseek2", Kind::kDeepseekV3},
    {"Glm4MoeForCausalLM", "glm4moe", Kind::kGlm4Moe},
};

bool is_mla(Kind k) { return k == Kind::kDeepseekV2 || k == Kind::kDeepseekV3; }
bool is_moe(Kind k) { return k == Kind::kQwen3Moe || is_mla(k) || k == Kind::kGlm4Moe; }

const Family& find_family(const JsonObject& cfg) {
    std::string cls;
    if (const json* a = cfg.get("architectures")) {
        if (!a->is_array() || a->empty() || !(*a)[0].is_string())
            cfg.fail("architectures", "must be a non-empty array of class names");
        cls = (*a)[0].get<std::string>();
    } else {
        cfg.fail("architectures", "is missing (expected e.g. [\"Qwen2ForCausalLM\"])");
    }
    for (const auto& f : kFamilies)
        if (cls == f.hf_class) return f;
    std::string list;
    for (const auto& f : kFamilies) list += (list.empty() ? "" : ", ") + std::string(f.hf_class);
    cfg.fail("architectures", "names " + cls + ", which hearth cannot import (supported: " + list + ")");
}

// GGUF names of the per-layer tensors (the part after "model.layers.N.").
const std::map<std::string, std::string>& layer_names() {
    static const std::map<std::string, std::string> m = {
        {"input_layernorm.weight", "attn_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.v_proj.bias", "attn_v.bias"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"self_attn.q_norm.weight", "attn_q_norm.weight"},
        {"self_attn.k_norm.weight", "attn_k_norm.weight"},
        {"self_attn.q_a_proj.weight", "attn_q_a.weight"},
        {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"},
        {"self_attn.q_b_proj.weight", "attn_q_b.weight"},
        {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"},
        {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"},
        {"self_attn.kv_b_proj.weight", "attn_kv_b.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
        {"mlp.gate.weight", "ffn_gate_inp.weight"},
        {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias"},
        {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
        {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
        {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
    };
    return m;
}

// ---- config.json -> metadata ------------------------------------------------------------

struct Shapes {
    int64_t n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_vocab = 0, n_expert = 0;
};

void rope_scaling_keys(const JsonObject& cfg, const std::string& p, Kind kind, Metadata& kv, bool& llama3) {
    const json* rs = cfg.get("rope_scaling");
    if (!rs) return;
    if (!rs->is_object()) cfg.fail("rope_scaling", "must be an object or null");
    JsonObject r(*rs, cfg.file() + ": rope_scaling");
    const std::string type = r.has("rope_type") ? r.s("rope_type", "") : r.s("type", "default");
    if (type == "default") return;
    if (type == "llama3" && kind == Kind::kLlama) {
        llama3 = true;
        return;
    }
    if (type == "linear") {
        kv[p + "rope.scaling.type"] = str("linear");
        kv[p + "rope.scaling.factor"] = f32(r.f("factor"));
        return;
    }
    if (type == "yarn") {
        kv[p + "rope.scaling.type"] = str("yarn");
        kv[p + "rope.scaling.factor"] = f32(r.f("factor"));
        if (r.has("original_max_position_embeddings"))
            kv[p + "rope.scaling.original_context_length"] = u32(static_cast<uint64_t>(r.i("original_max_position_embeddings")));
        if (is_mla(kind)) {
            kv[p + "rope.scaling.yarn_beta_fast"] = f32(r.f("beta_fast", 32.0));
            kv[p + "rope.scaling.yarn_beta_slow"] = f32(r.f("beta_slow", 1.0));
            const double m = r.f("mscale", 1.0), m_all = r.f("mscale_all_dim", 0.0);
            // DeepSeek applies mscale(mscale)/mscale(mscale_all_dim) to cos/sin; llama.cpp (and
            // hearth) assume that ratio is 1, as in every released config.
            if (r.has("mscale") && r.has("mscale_all_dim") && m != m_all)
                r.fail("mscale", "differs from mscale_all_dim; that rope magnitude scaling is not supported");
            kv[p + "rope.scaling.yarn_log_multiplier"] = f32(0.1 * m_all);
        }
        return;
    }
    // Written as is: hearth's hyper-parameter reader names what it cannot run.
    kv[p + "rope.scaling.type"] = str(type);
    kv[p + "rope.scaling.factor"] = f32(r.f("factor", 1.0));
}

Shapes config_keys(const JsonObject& cfg, const Family& fam, Metadata& kv, bool& llama3) {
    const std::string p = std::string(fam.arch) + ".";
    Shapes s;
    s.n_layer = cfg.i("num_hidden_layers");
    s.n_embd = cfg.i("hidden_size");
    s.n_head = cfg.i("num_attention_heads");
    s.n_head_kv = cfg.i("num_key_value_heads", s.n_head);
    s.n_vocab = cfg.i("vocab_size");
    if (s.n_layer <= 0 || s.n_embd <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_vocab <= 0)
        throw Error(cfg.file() + ": num_hidden_layers, hidden_size, num_attention_heads, num_key_value_heads and "
                                 "vocab_size must be positive");
    s.head_dim = cfg.i("head_dim", s.n_embd / s.n_head);
    if (s.head_dim <= 0) cfg.fail("head_dim", "must be positive");

    kv["general.architecture"] = str(fam.arch);
    kv[p + "block_count"] = u32(static_cast<uint64_t>(s.n_layer));
    kv[p + "context_length"] = u32(static_cast<uint64_t>(cfg.i("max_position_embeddings", 2048)));
    kv[p + "embedding_length"] = u32(static_cast<uint64_t>(s.n_embd));
    if (cfg.has("intermediate_size")) kv[p + "feed_forward_length"] = u32(static_cast<uint64_t>(cfg.i("intermediate_size")));
    kv[p + "attention.head_count"] = u32(static_cast<uint64_t>(s.n_head));
    kv[p + "attention.head_count_kv"] = u32(static_cast<uint64_t>(s.n_head_kv));
    kv[p + "rope.freq_base"] = f32(cfg.f("rope_theta", 10000.0));
    kv[p + "attention.layer_norm_rms_epsilon"] = f32(cfg.f("rms_norm_eps", 1e-6));
    kv[p + "vocab_size"] = u32(static_cast<uint64_t>(s.n_vocab));
    if (!is_mla(fam.kind) && cfg.has("head_dim")) {
        kv[p + "attention.key_length"] = u32(static_cast<uint64_t>(s.head_dim));
        kv[p + "attention.value_length"] = u32(static_cast<uint64_t>(s.head_dim));
    }
    if (fam.kind == Kind::kLlama) kv[p + "rope.dimension_count"] = u32(static_cast<uint64_t>(s.head_dim));
    if (fam.kind == Kind::kGlm4Moe)
        kv[p + "rope.dimension_count"] =
            u32(static_cast<uint64_t>(std::llround(static_cast<double>(s.head_dim) * cfg.f("partial_rotary_factor", 0.5))));
    rope_scaling_keys(cfg, p, fam.kind, kv, llama3);

    if (!is_moe(fam.kind)) return s;
    if (fam.kind == Kind::kQwen3Moe) {
        s.n_expert = cfg.i("num_experts");
        if (cfg.i("decoder_sparse_step", 1) != 1) cfg.fail("decoder_sparse_step", "other than 1 is not supported");
        if (const json* m = cfg.get("mlp_only_layers"); m && !(m->is_array() && m->empty()))
            cfg.fail("mlp_only_layers", "must be empty (dense layers inside qwen3moe are not supported)");
    } else {
        s.n_expert = cfg.i("n_routed_experts");
        kv[p + "expert_shared_count"] = u32(static_cast<uint64_t>(cfg.i("n_shared_experts", 0)));
        kv[p + "leading_dense_block_count"] = u32(static_cast<uint64_t>(cfg.i("first_k_dense_replace", 0)));
        kv[p + "expert_weights_scale"] = f32(cfg.f("routed_scaling_factor", 1.0));
        if (cfg.i("moe_layer_freq", 1) != 1) cfg.fail("moe_layer_freq", "other than 1 is not supported");
        int64_t groups = cfg.i("n_group", 1), used = cfg.i("topk_group", groups);
        // V2's "greedy" ignores the groups.
        if (fam.kind == Kind::kDeepseekV2 && cfg.s("topk_method", "greedy") == "greedy") groups = used = 1;
        kv[p + "expert_group_count"] = u32(static_cast<uint64_t>(groups));
        kv[p + "expert_group_used_count"] = u32(static_cast<uint64_t>(used));
        std::string scoring = cfg.s("scoring_func", fam.kind == Kind::kDeepseekV2 ? "softmax" : "sigmoid");
        if (scoring != "softmax" && scoring != "sigmoid") cfg.fail("scoring_func", "must be softmax or sigmoid");
        kv[p + "expert_gating_func"] = u32(scoring == "sigmoid" ? 2 : 1);
    }
    if (s.n_expert <= 0) throw Error(cfg.file() + ": the expert count must be positive");
    kv[p + "expert_count"] = u32(static_cast<uint64_t>(s.n_expert));
    kv[p + "expert_used_count"] = u32(static_cast<uint64_t>(cfg.i("num_experts_per_tok")));
    kv[p + "expert_feed_forward_length"] = u32(static_cast<uint64_t>(cfg.i("moe_intermediate_size")));
    kv[p + "expert_weights_norm"] = boolean(cfg.b("norm_topk_prob", fam.kind != Kind::kDeepseekV2));

    if (is_mla(fam.kind)) {
        // MLA is described as MQA over one latent "kv head", as the GGUF converter writes it.
        const int64_t L = cfg.i("kv_lora_rank"), R = cfg.i("qk_rope_head_dim"), nope = cfg.i("qk_nope_head_dim");
        kv[p + "attention.head_count_kv"] = u32(1);
        if (cfg.has("q_lora_rank")) kv[p + "attention.q_lora_rank"] = u32(static_cast<uint64_t>(cfg.i("q_lora_rank")));
        kv[p + "attention.kv_lora_rank"] = u32(static_cast<uint64_t>(L));
        kv[p + "attention.key_length"] = u32(static_cast<uint64_t>(L + R));
        kv[p + "attention.value_length"] = u32(static_cast<uint64_t>(L));
        kv[p + "attention.key_length_mla"] = u32(static_cast<uint64_t>(nope + R));
        kv[p + "attention.value_length_mla"] = u32(static_cast<uint64_t>(cfg.i("v_head_dim")));
        kv[p + "rope.dimension_count"] = u32(static_cast<uint64_t>(R));
    }
    return s;
}

// llama3 rope scaling as the converter stores it: per-frequency divisors (rope_freqs.weight).
std::vector<float> llama3_factors(const JsonObject& cfg, int64_t head_dim) {
    JsonObject r(*cfg.get("rope_scaling"), cfg.file() + ": rope_scaling");
    const double base = cfg.f("rope_theta", 10000.0);
    const double factor = r.f("factor"), lo = r.f("low_freq_factor"), hi = r.f("high_freq_factor");
    const double old_ctx = static_cast<double>(r.i("original_max_position_embeddings"));
    if (factor <= 0 || lo <= 0 || hi <= lo || old_ctx <= 0) r.fail("factor", "and the llama3 frequency factors are inconsistent");
    std::vector<float> out;
    for (int64_t i = 0; i < head_dim; i += 2) {
        // In float32, as the converter computes the frequencies (torch.arange(..., dtype=float32)).
        const float e = static_cast<float>(i) / static_cast<float>(head_dim);
        const float freq = 1.0f / std::pow(static_cast<float>(base), e);
        const double wavelen = 2.0 * std::numbers::pi / static_cast<double>(freq);
        if (wavelen < old_ctx / hi) {
            out.push_back(1.0f);
        } else if (wavelen > old_ctx / lo) {
            out.push_back(static_cast<float>(factor));
        } else {
            const double smooth = (old_ctx / wavelen - lo) / (hi - lo);
            out.push_back(static_cast<float>(1.0 / ((1.0 - smooth) / factor + smooth)));
        }
    }
    return out;
}

// ---- safetensors -> tensors -------------------------------------------------------------

struct Source {
    const SafetensorsTensor* t;
    const SafetensorsFile* file;
};

class TensorSet {
public:
    void add_copy(const std::string& name, DType type, std::vector<int64_t> shape, std::shared_ptr<OwnedBuffer> buf) {
        TensorInfo ti;
        ti.name = name;
        ti.dtype = type;
        ti.shape = std::move(shape);
        ti.nbytes = buf->size();
        ti.data = buf->data();
        regions_.push_back({buf->data(), buf->size(), buf});
        owned_bytes_ += buf->size();
        tensors_.push_back(std::move(ti));
    }
    void add_view(const std::string& name, DType type, std::vector<int64_t> shape, const uint8_t* data, size_t nbytes) {
        TensorInfo ti;
        ti.name = name;
        ti.dtype = type;
        ti.shape = std::move(shape);
        ti.nbytes = nbytes;
        ti.data = data;
        tensors_.push_back(std::move(ti));
    }
    std::vector<TensorInfo>& tensors() { return tensors_; }
    std::vector<MemoryRegion>& regions() { return regions_; }
    uint64_t owned_bytes() const { return owned_bytes_; }

private:
    std::vector<TensorInfo> tensors_;
    std::vector<MemoryRegion> regions_;
    uint64_t owned_bytes_ = 0;
};

std::string where(const Source& s) { return s.file->path() + ": tensor " + s.t->name; }

// A tensor's bytes as hearth will use them: in place in the mapped file, or (FP8 weights)
// dequantized into an owned BF16 buffer.
struct Loaded {
    DType type;
    const uint8_t* data;
    size_t nbytes;
    std::shared_ptr<OwnedBuffer> owned;
};

// Every tensor by HF name, and how FP8 weights find and apply their block scales.
struct Weights {
    std::map<std::string, Source> by_name;
    Fp8Config fp8;
};

Loaded load(const Source& s, const Weights& w) {
    if (s.t->hearth) return {*s.t->hearth, s.t->data, s.t->nbytes, nullptr};
    if (is_fp8_dtype(s.t->dtype)) {
        const std::string scale_name = fp8_scale_name(s.t->name);
        auto it = w.by_name.find(scale_name);
        const Source* sc = it == w.by_name.end() ? nullptr : &it->second;
        auto buf = dequantize_fp8_weight(w.fp8, *s.t, where(s), sc ? sc->t : nullptr,
                                         sc ? where(*sc) : s.file->path() + ": tensor " + scale_name);
        return {DType::BF16, buf->data(), buf->size(), buf};
    }
    throw Error(where(s) + " has dtype " + s.t->dtype +
                ", which hearth cannot import (supported: F32, F16, BF16, and F8_E4M3/F8_E5M2 weights with "
                "block scales)");
}

// GGUF order: innermost (contiguous) dimension first; a scalar becomes [1].
std::vector<int64_t> gguf_shape(const Source& s) {
    std::vector<int64_t> g(s.t->shape.rbegin(), s.t->shape.rend());
    if (g.empty()) g.push_back(1);
    if (g.size() > 4) throw Error(where(s) + " has " + std::to_string(g.size()) + " dimensions, at most 4 are supported");
    for (int64_t d : g)
        if (d == 0) throw Error(where(s) + " has an empty dimension");
    return g;
}

size_t elem_bytes(DType t) { return dtype_info(t).block_bytes; }

// The llama rope pairs adjacent rows; HF stores each head's pairs half a head apart. Row
// h*hd + p*hd/2 + i of the HF tensor becomes row h*hd + 2i + p.
std::shared_ptr<OwnedBuffer> permute_rows(const Source& s, const Loaded& l, int64_t n_head) {
    const int64_t rows = s.t->shape.empty() ? 1 : s.t->shape[0];
    if (n_head <= 0 || rows % n_head != 0 || (rows / n_head) % 2 != 0)
        throw Error(where(s) + ": " + std::to_string(rows) + " rows do not split into " + std::to_string(n_head) +
                    " heads of even width");
    const int64_t hd = rows / n_head;
    const size_t row_bytes = l.nbytes / static_cast<size_t>(rows);
    auto buf = std::make_shared<OwnedBuffer>(l.nbytes);
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t p = 0; p < 2; ++p)
            for (int64_t i = 0; i < hd / 2; ++i) {
                const int64_t src = h * hd + p * (hd / 2) + i, dst = h * hd + 2 * i + p;
                std::memcpy(buf->data() + static_cast<size_t>(dst) * row_bytes,
                            l.data + static_cast<size_t>(src) * row_bytes, row_bytes);
            }
    return buf;
}

std::shared_ptr<OwnedBuffer> copy_of(const Loaded& l) {
    auto buf = std::make_shared<OwnedBuffer>(l.nbytes);
    if (l.nbytes) std::memcpy(buf->data(), l.data, l.nbytes);
    return buf;
}

// "model.layers.12.self_attn.q_proj.weight" -> (12, "self_attn.q_proj.weight"); -1 otherwise.
int64_t layer_of(const std::string& name, std::string& rest) {
    static const std::string prefix = "model.layers.";
    if (name.rfind(prefix, 0) != 0) return -1;
    size_t i = prefix.size(), j = i;
    while (j < name.size() && j - i < 9 && name[j] >= '0' && name[j] <= '9') ++j;
    if (j == i || j >= name.size() || name[j] != '.') return -1;
    rest = name.substr(j + 1);
    return std::stoll(name.substr(i, j - i));
}

// "mlp.experts.7.up_proj.weight" -> (7, "up_proj"); -1 otherwise.
int64_t expert_of(const std::string& rest, std::string& proj) {
    static const std::string prefix = "mlp.experts.";
    if (rest.rfind(prefix, 0) != 0) return -1;
    size_t i = prefix.size(), j = i;
    while (j < rest.size() && j - i < 9 && rest[j] >= '0' && rest[j] <= '9') ++j;
    if (j == i || j >= rest.size() || rest[j] != '.') return -1;
    proj = rest.substr(j + 1);
    if (proj != "gate_proj.weight" && proj != "up_proj.weight" && proj != "down_proj.weight") return -1;
    proj = proj.substr(0, proj.find('_'));
    return std::stoll(rest.substr(i, j - i));
}

void stack_experts(const std::string& gguf, const std::vector<Source>& ex, int64_t n_expert, const Weights& w,
                   TensorSet& out) {
    if (static_cast<int64_t>(ex.size()) != n_expert || n_expert <= 0)
        throw Error(gguf + ": found " + std::to_string(ex.size()) + " expert tensors, config.json declares " +
                    std::to_string(n_expert));
    for (int64_t e = 0; e < n_expert; ++e) {
        if (!ex[static_cast<size_t>(e)].t) throw Error(gguf + ": expert " + std::to_string(e) + " is missing");
        const Source& s = ex[static_cast<size_t>(e)];
        if (s.t->shape.size() != 2 || s.t->dtype != ex[0].t->dtype || s.t->shape != ex[0].t->shape)
            throw Error(where(s) + " does not have the 2-D shape and dtype of expert 0 (" + ex[0].t->dtype + ")");
    }
    // FP8 experts are dequantized one at a time straight into the stack: the transient extra
    // memory is one expert's BF16 copy.
    const Loaded first = load(ex[0], w);
    const DType type = first.type;
    const size_t one = first.nbytes;
    uint64_t total = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(one), static_cast<uint64_t>(n_expert), &total))
        throw Error(gguf + ": stacked size overflows");
    auto buf = std::make_shared<OwnedBuffer>(static_cast<size_t>(total));
    for (int64_t e = 0; e < n_expert; ++e) {
        const Loaded l = e == 0 ? first : load(ex[static_cast<size_t>(e)], w);
        std::memcpy(buf->data() + static_cast<size_t>(e) * one, l.data, one);
    }
    std::vector<int64_t> shape = gguf_shape(ex[0]);
    shape.push_back(n_expert);
    out.add_copy(gguf, type, std::move(shape), std::move(buf));
}

// Opens model.safetensors or the shards named by model.safetensors.index.json; returns every
// tensor by HF name.
std::map<std::string, Source> open_weights(const fs::path& dir, std::vector<std::unique_ptr<SafetensorsFile>>& files,
                                           std::vector<fs::path>& used) {
    std::map<std::string, Source> by_name;
    const fs::path index = dir / "model.safetensors.index.json";
    std::vector<std::string> shards;
    json weight_map;
    if (fs::exists(index)) {
        json j = read_json(index);
        used.push_back(index);
        auto wm = j.find("weight_map");
        if (wm == j.end() || !wm->is_object()) throw Error(index.string() + ": \"weight_map\" is missing or not an object");
        weight_map = *wm;
        std::set<std::string> seen;
        for (const auto& [name, shard] : weight_map.items()) {
            if (!shard.is_string()) throw Error(index.string() + ": weight_map[\"" + name + "\"] is not a file name");
            const std::string s = shard.get<std::string>();
            if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..")
                throw Error(index.string() + ": weight_map[\"" + name + "\"] = \"" + s + "\" is not a file in the directory");
            if (seen.insert(s).second) shards.push_back(s);
        }
        if (shards.empty()) throw Error(index.string() + ": weight_map is empty");
    } else if (fs::exists(dir / "model.safetensors")) {
        shards.push_back("model.safetensors");
    } else {
        throw Error(dir.string() + ": no model.safetensors or model.safetensors.index.json (only safetensors weights can "
                                   "be imported)");
    }
    for (const std::string& s : shards) {
        const fs::path p = dir / s;
        if (!fs::exists(p)) throw Error(p.string() + ": shard listed in model.safetensors.index.json is missing");
        files.push_back(SafetensorsFile::open(p.string()));
        used.push_back(p);
        const SafetensorsFile* f = files.back().get();
        for (const auto& t : f->tensors()) {
            if (!weight_map.is_null()) {
                auto it = weight_map.find(t.name);
                if (it == weight_map.end() || it->get<std::string>() != s) continue;  // the index is authoritative
            }
            if (!by_name.emplace(t.name, Source{&t, f}).second)
                throw Error(p.string() + ": tensor " + t.name + " is stored in more than one shard");
        }
    }
    if (!weight_map.is_null()) {
        for (const auto& [name, shard] : weight_map.items())
            if (!by_name.count(name))
                throw Error((dir / shard.get<std::string>()).string() + ": tensor " + name +
                            " listed in model.safetensors.index.json is not in the file");
    }
    return by_name;
}

// "X.weight_scale_inv" belongs to FP8 weight "X.weight"; a scale without one is an error.
bool is_fp8_scale(const std::string& name, const Source& src, const Weights& w) {
    static const std::string suffix = "_scale_inv";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return false;
    auto it = w.by_name.find(name.substr(0, name.size() - suffix.size()));
    if (it == w.by_name.end() || !is_fp8_dtype(it->second.t->dtype))
        throw Error(where(src) + " is an FP8 block scale, but there is no FP8 weight " +
                    name.substr(0, name.size() - suffix.size()) + " for it to scale");
    return true;
}

void import_tensors(const Weights& w, const Family& fam, const Shapes& s, const JsonObject& cfg, TensorSet& out) {
    std::map<std::pair<int64_t, std::string>, std::vector<Source>> experts;
    bool has_output = false;
    for (const auto& [name, src] : w.by_name) {
        if (is_fp8_scale(name, src, w)) continue;  // applied when its weight is loaded
        std::string rest, gguf;
        const int64_t layer = layer_of(name, rest);
        if (name == "model.embed_tokens.weight") {
            gguf = "token_embd.weight";
        } else if (name == "model.norm.weight") {
            gguf = "output_norm.weight";
        } else if (name == "lm_head.weight") {
            gguf = "output.weight";
            has_output = true;
        } else if (layer >= 0) {
            if (layer >= s.n_layer) continue;  // multi-token-prediction layers: never run
            if (rest == "self_attn.rotary_emb.inv_freq") continue;  // a buffer older exports saved
            std::string proj;
            const int64_t e = expert_of(rest, proj);
            if (e >= 0 && is_moe(fam.kind)) {
                if (e >= s.n_expert) throw Error(where(src) + ": expert index beyond the config's expert count");
                auto& v = experts[{layer, proj}];
                if (v.size() < static_cast<size_t>(s.n_expert)) v.resize(static_cast<size_t>(s.n_expert), Source{nullptr, nullptr});
                v[static_cast<size_t>(e)] = src;
                continue;
            }
            auto it = layer_names().find(rest);
            if (it == layer_names().end())
                throw Error(where(src) + " has no GGUF counterpart for " + fam.hf_class + " (not imported by hearth)");
            gguf = it->second;
            if (fam.kind == Kind::kGlm4Moe && gguf == "ffn_norm.weight") gguf = "post_attention_norm.weight";
            gguf = "blk." + std::to_string(layer) + "." + gguf;
        } else {
            throw Error(where(src) + " is not a tensor of a " + std::string(fam.hf_class) + " model");
        }

        std::vector<int64_t> shape = gguf_shape(src);
        int64_t permute_heads = 0;
        if (fam.kind == Kind::kLlama && (rest.rfind("self_attn.q_proj.", 0) == 0)) permute_heads = s.n_head;
        if (fam.kind == Kind::kLlama && (rest.rfind("self_attn.k_proj.", 0) == 0)) permute_heads = s.n_head_kv;
        const Loaded l = load(src, w);
        if (permute_heads > 0) {
            out.add_copy(gguf, l.type, std::move(shape), permute_rows(src, l, permute_heads));
        } else if (l.owned) {
            out.add_copy(gguf, l.type, std::move(shape), l.owned);
        } else if (reinterpret_cast<uintptr_t>(l.data) % elem_bytes(l.type) != 0) {
            out.add_copy(gguf, l.type, std::move(shape), copy_of(l));  // misaligned: reading in place is undefined
        } else {
            out.add_view(gguf, l.type, std::move(shape), l.data, l.nbytes);
        }
    }
    for (auto& [key, ex] : experts) {
        const char* gg = key.second == "gate" ? "ffn_gate_exps.weight" : key.second == "up" ? "ffn_up_exps.weight"
                                                                                             : "ffn_down_exps.weight";
        stack_experts("blk." + std::to_string(key.first) + "." + gg, ex, s.n_expert, w, out);
    }
    if (!has_output && !cfg.b("tie_word_embeddings", true))
        throw Error(cfg.file() + ": tie_word_embeddings is false but there is no lm_head.weight tensor");
}

// general.file_type: the type of most weight bytes, as the converter's --outtype would set it.
uint64_t file_type_of(const std::vector<TensorInfo>& tensors) {
    std::map<DType, uint64_t> bytes;
    for (const auto& t : tensors)
        if (t.shape.size() >= 2) bytes[t.dtype] += t.nbytes;
    DType top = DType::F32;
    uint64_t most = 0;
    for (const auto& [t, b] : bytes)
        if (b > most) top = t, most = b;
    return top == DType::BF16 ? 32 : top == DType::F16 ? 1 : 0;  // MOSTLY_BF16, MOSTLY_F16, ALL_F32
}

}  // namespace

std::unique_ptr<GGUFFile> import_hf_directory(const std::string& dir_str) {
    const fs::path dir(dir_str);
    const fs::path config_path = dir / "config.json";
    if (!fs::exists(config_path))
        throw Error(dir_str + ": is a directory without config.json; expected a GGUF file or a Hugging Face model directory");
    std::vector<fs::path> used{config_path};
    const json config_json = read_json(config_path);
    const JsonObject cfg(config_json, config_path.string());
    const Family& fam = find_family(cfg);

    Metadata kv;
    bool llama3 = false;
    const Shapes shapes = config_keys(cfg, fam, kv, llama3);
    std::string name = fs::path(dir).lexically_normal().filename().string();
    if (name.empty()) name = fs::path(dir).lexically_normal().parent_path().filename().string();
    kv["general.name"] = str(name);

    std::vector<std::unique_ptr<SafetensorsFile>> files;
    Weights weights{open_weights(dir, files, used), read_fp8_config(cfg)};
    TensorSet ts;
    import_tensors(weights, fam, shapes, cfg, ts);
    if (llama3) {
        const std::vector<float> f = llama3_factors(cfg, shapes.head_dim);
        auto buf = std::make_shared<OwnedBuffer>(f.size() * sizeof(float));
        std::memcpy(buf->data(), f.data(), f.size() * sizeof(float));
        ts.add_copy("rope_freqs.weight", DType::F32, {static_cast<int64_t>(f.size())}, std::move(buf));
    }
    kv["general.file_type"] = u32(file_type_of(ts.tensors()));

    hf::import_tokenizer(dir, cfg, shapes.n_vocab, kv, used);

    uint64_t total = 0;
    for (const auto& p : used) {
        std::error_code ec;
        const auto n = fs::file_size(p, ec);
        if (!ec) total += n;
    }
    for (const auto& f : files) {
        auto map = f->mapping();
        ts.regions().push_back({map->data(), map->size(), map});
    }
    const std::string source = "Hugging Face directory (safetensors, " + std::to_string(files.size()) +
                               (files.size() == 1 ? " shard" : " shards") +
                               (weights.fp8.present ? ", FP8 weights dequantized to BF16)" : ")");
    return GGUFFile::from_memory(dir_str, total, std::move(kv), std::move(ts.tensors()), std::move(ts.regions()),
                                 source);
}

}  // namespace hearth::format
