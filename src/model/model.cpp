#include "model/model.h"

#include <cmath>
#include <cstring>

#include "backend/cpu/attention.h"
#include "backend/cpu/ops.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "quant/quant.h"
#include "tokenizer/tokenizer.h"

namespace hearth::model {

using backend::cpu::Weight;

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
}

}  // namespace

Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& path) {
    std::unique_ptr<Model> m(new Model());
    m->file_ = format::GGUFFile::open(path);
    const std::string arch = m->file_->get_string("general.architecture", "");
    if (arch.empty()) throw Error(path + ": no general.architecture key; is this a model file?");
    m->spec_ = find_arch(arch);
    if (!m->spec_)
        throw Error(path + ": architecture '" + arch + "' is not supported (supported: " + supported_arch_list() + ")");
    m->hp_ = read_hparams(*m->file_, *m->spec_);
    m->load_weights();
    m->tok_ = tokenizer::Tokenizer::from_gguf(*m->file_);
    if (m->tok_->n_vocab() != m->hp_.n_vocab)
        throw Error(path + ": tokenizer has " + std::to_string(m->tok_->n_vocab()) + " tokens but the embedding has " +
                    std::to_string(m->hp_.n_vocab) + " rows");
    return m;
}

void Model::load_weights() {
    const format::GGUFFile& f = *file_;
    auto fail = [&](const std::string& what) { throw Error(f.path() + ": " + what); };
    auto tensor = [&](const std::string& name, bool required) -> const format::TensorInfo* {
        const format::TensorInfo* t = f.find_tensor(name);
        if (!t && required) fail("missing tensor " + name);
        if (t && !dtype_info(t->dtype).supported)
            fail("tensor " + name + " has type " + std::string(dtype_name(t->dtype)) + ", which hearth cannot compute yet");
        return t;
    };
    // A matrix [cols, rows] in GGUF order; checked against the expected shape.
    auto matrix = [&](const std::string& name, int64_t cols, int64_t rows, bool required = true) -> Weight {
        const format::TensorInfo* t = tensor(name, required);
        if (!t) return {};
        if (t->shape.size() != 2 || t->shape[0] != cols || (rows >= 0 && t->shape[1] != rows))
            fail("tensor " + name + " has shape " + shape_str(t->shape) + ", expected [" + std::to_string(cols) + ", " +
                 (rows >= 0 ? std::to_string(rows) : "?") + "]");
        Weight w;
        w.type = t->dtype;
        w.cols = t->shape[0];
        w.rows = t->shape[1];
        w.row_bytes = dtype_row_bytes(t->dtype, w.cols);
        w.data = t->data;
        return w;
    };
    // Small 1-D tensors (norms, biases) are converted to float once.
    auto vec = [&](const std::string& name, int64_t n, bool required = true) -> std::vector<float> {
        const format::TensorInfo* t = tensor(name, required);
        if (!t) return {};
        if (t->n_elements() != n)
            fail("tensor " + name + " has shape " + shape_str(t->shape) + ", expected " + std::to_string(n) + " elements");
        std::vector<float> out(static_cast<size_t>(n));
        quant::dequantize_row(t->dtype, t->data, out.data(), n);
        return out;
    };

    const HParams& hp = hp_;
    const format::TensorInfo* emb = tensor("token_embd.weight", true);
    if (emb->shape.size() != 2 || emb->shape[0] != hp.n_embd)
        fail("token_embd.weight has shape " + shape_str(emb->shape) + ", expected [" + std::to_string(hp.n_embd) + ", n_vocab]");
    if (hp_.n_vocab == 0) hp_.n_vocab = emb->shape[1];
    tok_embd_ = matrix("token_embd.weight", hp.n_embd, hp.n_vocab);
    output_norm_ = vec("output_norm.weight", hp.n_embd);
    output_ = matrix("output.weight", hp.n_embd, hp.n_vocab, false);
    if (output_.empty()) output_ = tok_embd_;  // tied embeddings
    if (f.find_tensor("rope_freqs.weight")) rope_freqs_ = vec("rope_freqs.weight", hp.rope_dims / 2);

    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t i = 0; i < hp.n_layer; ++i) {
        LayerWeights& L = layers_[static_cast<size_t>(i)];
        const std::string p = "blk." + std::to_string(i) + ".";
        L.attn_norm = vec(p + "attn_norm.weight", hp.n_embd);
        L.wq = matrix(p + "attn_q.weight", hp.n_embd, hp.q_dim());
        L.wk = matrix(p + "attn_k.weight", hp.n_embd, hp.k_dim());
        L.wv = matrix(p + "attn_v.weight", hp.n_embd, hp.v_dim());
        L.wo = matrix(p + "attn_output.weight", hp.n_head * hp.head_dim_v, hp.n_embd);
        // Biases and q/k norms: the table says which family has them, but files are the
        // truth, so they are used when present.
        L.bq = vec(p + "attn_q.bias", hp.q_dim(), spec_->qkv_bias);
        L.bk = vec(p + "attn_k.bias", hp.k_dim(), spec_->qkv_bias);
        L.bv = vec(p + "attn_v.bias", hp.v_dim(), spec_->qkv_bias);
        L.q_norm = vec(p + "attn_q_norm.weight", hp.head_dim_k, spec_->qk_norm);
        L.k_norm = vec(p + "attn_k_norm.weight", hp.head_dim_k, spec_->qk_norm);
        L.ffn_norm = vec(p + "ffn_norm.weight", hp.n_embd);
        L.gate = matrix(p + "ffn_gate.weight", hp.n_embd, hp.n_ff);
        L.up = matrix(p + "ffn_up.weight", hp.n_embd, hp.n_ff);
        L.down = matrix(p + "ffn_down.weight", hp.n_ff, hp.n_embd);
    }
}

KVCache Model::make_cache(int64_t n_ctx, DType type) const {
    return KVCache(hp_.n_layer, n_ctx, hp_.k_dim(), hp_.v_dim(), type);
}

uint64_t Model::n_params() const {
    uint64_t n = 0;
    for (const auto& t : file_->tensors()) n += static_cast<uint64_t>(t.n_elements());
    return n;
}

void Model::forward(ThreadPool& pool, KVCache& cache, const int32_t* tokens, int64_t n, float* logits,
                    bool all_logits) const {
    namespace cpu = backend::cpu;
    const HParams& hp = hp_;
    const int64_t pos0 = cache.n_past();
    if (n <= 0) return;
    if (pos0 + n > cache.n_ctx())
        throw Error("context is full: " + std::to_string(pos0) + " + " + std::to_string(n) + " tokens exceed the context of " +
                    std::to_string(cache.n_ctx()));
    for (int64_t t = 0; t < n; ++t)
        if (tokens[t] < 0 || tokens[t] >= hp.n_vocab)
            throw Error("token id " + std::to_string(tokens[t]) + " is out of the vocabulary (" + std::to_string(hp.n_vocab) + ")");

    const int64_t d = hp.n_embd;
    std::vector<float> x(n * d), xn(n * d), q(n * hp.q_dim()), k(n * hp.k_dim()), v(n * hp.v_dim());
    std::vector<float> att(n * hp.n_head * hp.head_dim_v), proj(n * d), gate(n * hp.n_ff), up(n * hp.n_ff);
    std::vector<int32_t> pos(n);
    for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(pos0 + t);
    for (int64_t t = 0; t < n; ++t) cpu::get_row(tok_embd_, tokens[t], x.data() + t * d);

    const bool neox = hp.rope_style == RopeStyle::kNeox;
    const float pos_scale = hp.rope_scaling == RopeScaling::kLinear ? hp.rope_scale_factor : 1.0f;
    const float* freq = rope_freqs_.empty() ? nullptr : rope_freqs_.data();
    const float scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));

    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const LayerWeights& L = layers_[static_cast<size_t>(il)];
        cpu::rms_norm(x.data(), L.attn_norm.data(), xn.data(), n, d, hp.rms_eps);
        cpu::matmul(pool, L.wq, xn.data(), n, q.data());
        cpu::matmul(pool, L.wk, xn.data(), n, k.data());
        cpu::matmul(pool, L.wv, xn.data(), n, v.data());
        if (!L.bq.empty()) cpu::add_bias(q.data(), L.bq.data(), n, hp.q_dim());
        if (!L.bk.empty()) cpu::add_bias(k.data(), L.bk.data(), n, hp.k_dim());
        if (!L.bv.empty()) cpu::add_bias(v.data(), L.bv.data(), n, hp.v_dim());
        if (!L.q_norm.empty()) cpu::rms_norm(q.data(), L.q_norm.data(), q.data(), n * hp.n_head, hp.head_dim_k, hp.rms_eps);
        if (!L.k_norm.empty())
            cpu::rms_norm(k.data(), L.k_norm.data(), k.data(), n * hp.n_head_kv, hp.head_dim_k, hp.rms_eps);
        cpu::rope(q.data(), n, hp.n_head, hp.head_dim_k, hp.rope_dims, pos.data(), hp.rope_base, pos_scale, freq, neox);
        cpu::rope(k.data(), n, hp.n_head_kv, hp.head_dim_k, hp.rope_dims, pos.data(), hp.rope_base, pos_scale, freq, neox);
        for (int64_t t = 0; t < n; ++t)
            cache.store(il, pos0 + t, k.data() + t * hp.k_dim(), v.data() + t * hp.v_dim());

        cpu::AttentionArgs a;
        a.q = q.data();
        a.n_tokens = n;
        a.pos0 = pos0;
        a.n_head = hp.n_head;
        a.n_head_kv = hp.n_head_kv;
        a.head_dim_k = hp.head_dim_k;
        a.head_dim_v = hp.head_dim_v;
        a.scale = scale;
        a.kv_type = cache.type();
        a.k = cache.k(il, 0);
        a.v = cache.v(il, 0);
        a.k_stride = cache.k_row_bytes();
        a.v_stride = cache.v_row_bytes();
        a.out = att.data();
        cpu::attention(pool, a);
        cpu::matmul(pool, L.wo, att.data(), n, proj.data());
        cpu::add_inplace(x.data(), proj.data(), n * d);

        cpu::rms_norm(x.data(), L.ffn_norm.data(), xn.data(), n, d, hp.rms_eps);
        cpu::matmul(pool, L.gate, xn.data(), n, gate.data());
        cpu::matmul(pool, L.up, xn.data(), n, up.data());
        cpu::swiglu(gate.data(), up.data(), gate.data(), n * hp.n_ff);
        cpu::matmul(pool, L.down, gate.data(), n, proj.data());
        cpu::add_inplace(x.data(), proj.data(), n * d);
    }
    cache.set_n_past(pos0 + n);

    const int64_t first = all_logits ? 0 : n - 1;
    const int64_t rows = n - first;
    cpu::rms_norm(x.data() + first * d, output_norm_.data(), xn.data(), rows, d, hp.rms_eps);
    cpu::matmul(pool, output_, xn.data(), rows, logits);
}

}  // namespace hearth::model
