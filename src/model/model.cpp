#include "model/model.h"

#include "backend/cpu/ops.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "model/tensor_binder.h"
#include "tokenizer/tokenizer.h"

namespace hearth::model {

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
    TensorBinder tb(*file_);
    const format::TensorInfo* emb = tb.tensor("token_embd.weight", true);
    if (emb->shape.size() != 2 || emb->shape[0] != hp_.n_embd)
        tb.fail("token_embd.weight has shape " + shape_string(emb->shape) + ", expected [" + std::to_string(hp_.n_embd) +
                ", n_vocab]");
    if (hp_.n_vocab == 0) hp_.n_vocab = emb->shape[1];
    const HParams& hp = hp_;
    tok_embd_ = tb.matrix("token_embd.weight", hp.n_embd, hp.n_vocab);
    output_norm_ = tb.vec("output_norm.weight", hp.n_embd);
    output_ = tb.matrix("output.weight", hp.n_embd, hp.n_vocab, false);
    if (output_.empty()) output_ = tok_embd_;  // tied embeddings
    if (tb.has("rope_freqs.weight")) rope_freqs_ = tb.vec("rope_freqs.weight", hp.rope_dims / 2);

    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t i = 0; i < hp.n_layer; ++i) {
        LayerWeights& L = layers_[static_cast<size_t>(i)];
        const std::string p = "blk." + std::to_string(i) + ".";
        AttentionWeights& A = L.attn;
        A.norm = tb.vec(p + "attn_norm.weight", hp.n_embd);
        A.wq = tb.matrix(p + "attn_q.weight", hp.n_embd, hp.q_dim());
        A.wk = tb.matrix(p + "attn_k.weight", hp.n_embd, hp.k_dim());
        A.wv = tb.matrix(p + "attn_v.weight", hp.n_embd, hp.v_dim());
        A.wo = tb.matrix(p + "attn_output.weight", hp.n_head * hp.head_dim_v, hp.n_embd);
        // The table says which family has biases and q/k norms, but files are the truth,
        // so optional tensors are used whenever present.
        A.bq = tb.vec(p + "attn_q.bias", hp.q_dim(), spec_->qkv_bias);
        A.bk = tb.vec(p + "attn_k.bias", hp.k_dim(), spec_->qkv_bias);
        A.bv = tb.vec(p + "attn_v.bias", hp.v_dim(), spec_->qkv_bias);
        A.q_norm = tb.vec(p + "attn_q_norm.weight", hp.head_dim_k, spec_->qk_norm);
        A.k_norm = tb.vec(p + "attn_k_norm.weight", hp.head_dim_k, spec_->qk_norm);
        DenseFfnWeights& F = L.ffn;
        F.norm = tb.vec(p + "ffn_norm.weight", hp.n_embd);
        F.gate = tb.matrix(p + "ffn_gate.weight", hp.n_embd, hp.n_ff);
        F.up = tb.matrix(p + "ffn_up.weight", hp.n_embd, hp.n_ff);
        F.down = tb.matrix(p + "ffn_down.weight", hp.n_ff, hp.n_embd);
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
    std::vector<float> x(n * d);
    std::vector<int32_t> pos(n);
    for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(pos0 + t);
    for (int64_t t = 0; t < n; ++t) cpu::get_row(tok_embd_, tokens[t], x.data() + t * d);

    ForwardBatch b{pool, cache, n, pos0, pos, rope_freqs_.empty() ? nullptr : rope_freqs_.data()};
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const LayerWeights& L = layers_[static_cast<size_t>(il)];
        attention_block(hp, L.attn, il, b, x.data());
        dense_ffn_block(hp, L.ffn, b, x.data());
    }
    cache.set_n_past(pos0 + n);

    const int64_t first = all_logits ? 0 : n - 1;
    const int64_t rows = n - first;
    std::vector<float> xn(rows * d);
    cpu::rms_norm(x.data() + first * d, output_norm_.data(), xn.data(), rows, d, hp.rms_eps);
    cpu::matmul(pool, output_, xn.data(), rows, logits);
}

}  // namespace hearth::model
