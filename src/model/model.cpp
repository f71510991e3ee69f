#include "model/model.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "backend/cpu/ops.h"
#include "backend/cpu/rope_yarn.h"
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
    m->rows_per_pass_ = m->auto_rows_per_pass();
    return m;
}

int64_t Model::scratch_bytes_per_row() const {
    const HParams& hp = hp_;
    const int64_t d = hp.n_embd;
    // Attention: norm, q, k, v, the heads' output, the projection; FFN: norm, gate, up, out
    // (MoE: the chosen experts' and the shared experts' gate and up rows).
    const int64_t attn = 2 * d + hp.q_dim() + hp.k_dim() + hp.v_dim() + hp.n_head * hp.head_dim_v;
    const int64_t ff = std::max(hp.n_ff, hp.n_expert_used * hp.n_ff_exp + hp.n_ff_shexp);
    const int64_t ffn = 2 * d + 2 * ff;
    return static_cast<int64_t>(sizeof(float)) * (d + std::max(attn, ffn));
}

int64_t Model::auto_rows_per_pass() const {
    uint64_t weights = 0;
    for (const auto& t : file_->tensors()) weights += t.nbytes;
    const int64_t per_row = std::max<int64_t>(scratch_bytes_per_row(), 1);
    const int64_t rows = static_cast<int64_t>(weights / 256) / per_row;
    // Enough rows that a weight serves several of them: 64 for a dense matrix (fewer cost
    // prefill speed), and for routed experts about 16 tokens per expert on average.
    int64_t floor_rows = 64;
    if (hp_.n_expert > 0 && hp_.n_expert_used > 0)
        floor_rows = std::clamp<int64_t>(16 * hp_.n_expert / hp_.n_expert_used, 64, 512);
    return std::clamp<int64_t>(rows / 16 * 16, floor_rows, 512);
}

void Model::set_rows_per_pass(int64_t rows) {
    if (rows < 0) throw Error("rows per pass must be positive (0: automatic), got " + std::to_string(rows));
    rows_per_pass_ = rows == 0 ? auto_rows_per_pass() : rows;
}

uint64_t count_active_params(const format::GGUFFile& f, const HParams& hp) {
    uint64_t n = 0;
    for (const auto& t : f.tensors()) {
        uint64_t e = static_cast<uint64_t>(t.n_elements());
        // blk.N. of an MTP block: not part of the main forward pass.
        if (t.name.rfind("blk.", 0) == 0) {
            const size_t dot = t.name.find('.', 4);
            const std::string idx = t.name.substr(4, dot == std::string::npos ? std::string::npos : dot - 4);
            char* end = nullptr;
            const long long il = std::strtoll(idx.c_str(), &end, 10);
            if (end && *end == '\0' && il >= hp.n_layer) continue;
        }
        const bool routed = t.name.find("_exps.") != std::string::npos;
        if (routed && hp.n_expert > 0) e = e / static_cast<uint64_t>(hp.n_expert) * static_cast<uint64_t>(hp.n_expert_used);
        n += e;
    }
    return n;
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
    if (hp.rope_scaling == RopeScaling::kYarn) {
        if (!rope_freqs_.empty()) tb.fail("rope_freqs.weight together with YaRN scaling is not supported");
        rope_freqs_ = backend::cpu::yarn_freq_factors(hp.rope_dims, hp.rope_base, hp.rope_scale_factor, hp.yarn_orig_ctx,
                                                      hp.yarn_beta_fast, hp.yarn_beta_slow, hp.yarn_ext_factor);
    }

    // Blocks past hp.n_layer are multi-token-prediction heads (nextn_predict_layers): not bound, never run.
    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int64_t i = 0; i < hp.n_layer; ++i) {
        LayerWeights& L = layers_[static_cast<size_t>(i)];
        const std::string p = "blk." + std::to_string(i) + ".";
        load_attention(tb, p, L);
        load_ffn(tb, p, i, L);
    }
}

void Model::load_attention(TensorBinder& tb, const std::string& p, LayerWeights& L) const {
    const HParams& hp = hp_;
    if (spec_->attention == AttentionKind::kMla) {
        L.is_mla = true;
        MlaWeights& M = L.mla;
        const int64_t H = hp.n_head, Lr = hp.kv_lora_rank;
        M.norm = tb.vec(p + "attn_norm.weight", hp.n_embd);
        if (hp.q_lora_rank > 0) {
            M.wq_a = tb.matrix(p + "attn_q_a.weight", hp.n_embd, hp.q_lora_rank);
            M.q_a_norm = tb.vec(p + "attn_q_a_norm.weight", hp.q_lora_rank);
            M.wq_b = tb.matrix(p + "attn_q_b.weight", hp.q_lora_rank, H * hp.head_dim_k);
        } else {
            M.wq = tb.matrix(p + "attn_q.weight", hp.n_embd, H * hp.head_dim_k);
        }
        M.wkv_a = tb.matrix(p + "attn_kv_a_mqa.weight", hp.n_embd, Lr + hp.rope_dims);
        M.kv_a_norm = tb.vec(p + "attn_kv_a_norm.weight", Lr);
        if (tb.has(p + "attn_k_b.weight")) {
            M.kb_layout = true;
            M.k_up = tb.stacked(p + "attn_k_b.weight", hp.qk_nope, Lr, H);
            M.v_up = tb.stacked(p + "attn_v_b.weight", Lr, hp.head_dim_v, H);
        } else if (tb.has(p + "attn_kv_b.weight")) {
            M.kb_layout = false;  // older converters: one [kv_lora_rank, H * (qk_nope + v_head)] matrix
            M.k_up = tb.matrix(p + "attn_kv_b.weight", Lr, H * (hp.qk_nope + hp.head_dim_v));
            M.v_up = M.k_up;
        } else {
            tb.fail("missing tensor " + p + "attn_k_b.weight (or the older " + p + "attn_kv_b.weight)");
        }
        M.wo = tb.matrix(p + "attn_output.weight", H * hp.head_dim_v, hp.n_embd);
        return;
    }
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
}

void Model::load_ffn(TensorBinder& tb, const std::string& p, int64_t layer, LayerWeights& L) const {
    const HParams& hp = hp_;
    // MoE families: blocks after the leading dense ones route to experts (a file whose
    // block has a router where a dense FFN is expected is taken at its word).
    L.is_moe = spec_->moe && (layer >= hp.n_layer_dense_lead || tb.has(p + "ffn_gate_inp.weight"));
    if (!L.is_moe) {
        DenseFfnWeights& F = L.ffn;
        F.norm = tb.vec(p + spec_->ffn_norm + ".weight", hp.n_embd);
        F.gate = tb.matrix(p + "ffn_gate.weight", hp.n_embd, hp.n_ff);
        F.up = tb.matrix(p + "ffn_up.weight", hp.n_embd, hp.n_ff);
        F.down = tb.matrix(p + "ffn_down.weight", hp.n_ff, hp.n_embd);
        return;
    }
    MoeFfnWeights& M = L.moe;
    const int64_t E = hp.n_expert, ff = hp.n_ff_exp;
    M.norm = tb.vec(p + spec_->ffn_norm + ".weight", hp.n_embd);
    M.router = tb.matrix(p + "ffn_gate_inp.weight", hp.n_embd, E);
    M.choice_bias = tb.vec(p + "exp_probs_b.bias", E, false);
    auto experts = [&](const char* name, int64_t cols, int64_t rows) {
        backend::cpu::ExpertWeights x;
        x.all = tb.stacked(p + name, cols, rows, E);
        x.rows = rows;
        x.n_expert = E;
        return x;
    };
    M.gate = experts("ffn_gate_exps.weight", hp.n_embd, ff);
    M.up = experts("ffn_up_exps.weight", hp.n_embd, ff);
    M.down = experts("ffn_down_exps.weight", ff, hp.n_embd);
    if (hp.n_expert_shared > 0) {
        M.gate_sh = tb.matrix(p + "ffn_gate_shexp.weight", hp.n_embd, hp.n_ff_shexp);
        M.up_sh = tb.matrix(p + "ffn_up_shexp.weight", hp.n_embd, hp.n_ff_shexp);
        M.down_sh = tb.matrix(p + "ffn_down_shexp.weight", hp.n_ff_shexp, hp.n_embd);
    } else if (tb.has(p + "ffn_gate_shexp.weight") || tb.has(p + "ffn_gate_inp_shexp.weight")) {
        tb.fail(p + "ffn_*_shexp tensors are present but expert_shared_count is 0 (gated shared experts, as in "
                    "qwen2moe, are not supported)");
    }
}

KVCache Model::make_cache(int64_t n_ctx, DType type) const {
    return KVCache(hp_.n_layer, n_ctx, hp_.cache_k_width(), hp_.cache_v_width(), type);
}

uint64_t Model::n_params() const {
    uint64_t n = 0;
    for (const auto& t : file_->tensors()) n += static_cast<uint64_t>(t.n_elements());
    return n;
}

uint64_t Model::n_active_params() const { return count_active_params(*file_, hp_); }

void Model::forward(ThreadPool& pool, KVCache& cache, const int32_t* tokens, int64_t n, float* logits,
                    bool all_logits) const {
    if (n <= 0) return;
    // One arena per calling thread: callers of this entry point (tests, tools) run one pass
    // at a time per thread; the session and the scheduler bring their own.
    thread_local ScratchArena scratch;
    const SeqChunk c{&cache, tokens, n, all_logits ? Logits::kAll : Logits::kLast};
    forward_batch(pool, std::span<const SeqChunk>(&c, 1), logits, scratch);
}

int64_t Model::forward_batch(ThreadPool& pool, std::span<const SeqChunk> chunks, float* logits,
                             ScratchArena& scratch, Output out) const {
    const HParams& hp = hp_;
    int64_t n = 0, n_out = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
        const SeqChunk& c = chunks[i];
        const std::string which = chunks.size() == 1 ? std::string() : "sequence " + std::to_string(i) + ": ";
        if (!c.cache) throw Error(which + "no KV cache given");
        if (c.n <= 0 || !c.tokens) throw Error(which + "no tokens given");
        for (size_t j = 0; j < i; ++j)
            if (chunks[j].cache == c.cache)
                throw Error(which + "its KV cache is also used by sequence " + std::to_string(j) + " of the same batch");
        if (c.cache->k_width() != hp.cache_k_width() || c.cache->v_width() != hp.cache_v_width())
            throw Error(which + "the KV cache was not made for this model (row widths " + std::to_string(c.cache->k_width()) +
                        "/" + std::to_string(c.cache->v_width()) + ", expected " + std::to_string(hp.cache_k_width()) +
                        "/" + std::to_string(hp.cache_v_width()) + ")");
        const int64_t pos0 = c.cache->n_past();
        if (pos0 + c.n > c.cache->n_ctx())
            throw Error(which + "context is full: " + std::to_string(pos0) + " + " + std::to_string(c.n) +
                        " tokens exceed the context of " + std::to_string(c.cache->n_ctx()));
        for (int64_t t = 0; t < c.n; ++t)
            if (c.tokens[t] < 0 || c.tokens[t] >= hp.n_vocab)
                throw Error(which + "token id " + std::to_string(c.tokens[t]) + " is out of the vocabulary (" +
                            std::to_string(hp.n_vocab) + ")");
        n += c.n;
        n_out += c.logits == Logits::kAll ? c.n : c.logits == Logits::kLast ? 1 : 0;
    }
    if (n == 0) return 0;
    if (n <= rows_per_pass_) return forward_pass(pool, chunks, n, n_out, logits, scratch, out);

    // Consecutive passes over the rows in order, so the rows they write follow one another
    // exactly as one pass would write them.
    const int64_t width = out == Output::kHidden ? hp.n_embd : hp.n_vocab;
    std::vector<SeqChunk> part;
    int64_t written = 0;
    size_t ci = 0;
    int64_t off = 0;  // the next row is chunks[ci].tokens[off]
    while (ci < chunks.size()) {
        part.clear();
        int64_t rows = 0, rows_out = 0;
        while (ci < chunks.size() && rows < rows_per_pass_) {
            const SeqChunk& c = chunks[ci];
            const int64_t take = std::min(c.n - off, rows_per_pass_ - rows);
            const bool last = off + take == c.n;
            const Logits lg = c.logits == Logits::kAll ? Logits::kAll : last ? c.logits : Logits::kNone;
            part.push_back(SeqChunk{c.cache, c.tokens + off, take, lg, c.decode});
            rows += take;
            rows_out += lg == Logits::kAll ? take : lg == Logits::kLast ? 1 : 0;
            off += take;
            if (last) {
                ++ci;
                off = 0;
            }
        }
        written += forward_pass(pool, part, rows, rows_out, logits ? logits + written * width : nullptr, scratch, out);
    }
    return written;
}

int64_t Model::forward_pass(ThreadPool& pool, std::span<const SeqChunk> chunks, int64_t n, int64_t n_out,
                            float* logits, ScratchArena& scratch, Output out) const {
    namespace cpu = backend::cpu;
    const HParams& hp = hp_;
    // Room for the widest block plus the small per-pass tables, in one block.
    scratch.reserve(static_cast<size_t>(n * scratch_bytes_per_row()) + (size_t{64} << 10));
    const int64_t d = hp.n_embd;
    float* x = scratch.alloc<float>(n * d);
    int32_t* pos = scratch.alloc<int32_t>(n);
    SeqRows* seqs = scratch.alloc<SeqRows>(chunks.size());
    // Prompt rows as ranges, adjacent prompt chunks merged (the scheduler puts decode rows first).
    auto* prompt = scratch.alloc<cpu::RowRange>(chunks.size());
    size_t n_prompt_ranges = 0;
    int64_t row = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
        const SeqChunk& c = chunks[i];
        if (!c.decode) {
            if (n_prompt_ranges > 0 && prompt[n_prompt_ranges - 1].end == row) prompt[n_prompt_ranges - 1].end += c.n;
            else prompt[n_prompt_ranges++] = cpu::RowRange{row, row + c.n};
        }
        const int64_t pos0 = c.cache->n_past();
        new (&seqs[i]) SeqRows{c.cache, row, c.n, pos0};
        for (int64_t t = 0; t < c.n; ++t) {
            pos[row + t] = static_cast<int32_t>(pos0 + t);
            cpu::get_row(tok_embd_, c.tokens[t], x + (row + t) * d);
        }
        row += c.n;
    }

    ForwardBatch b{pool, scratch, n, pos, std::span<const SeqRows>(seqs, chunks.size()),
                   rope_freqs_.empty() ? nullptr : rope_freqs_.data(),
                   std::span<const cpu::RowRange>(prompt, n_prompt_ranges)};
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const LayerWeights& L = layers_[static_cast<size_t>(il)];
        if (L.is_mla)
            mla_attention_block(hp, L.mla, il, b, x);
        else
            attention_block(hp, L.attn, il, b, x);
        if (L.is_moe)
            moe_ffn_block(hp, L.moe, b, x);
        else
            dense_ffn_block(hp, L.ffn, b, x);
    }
    for (size_t i = 0; i < chunks.size(); ++i) chunks[i].cache->set_n_past(seqs[i].pos0 + seqs[i].n);

    if (n_out == 0) return 0;
    // Only the rows whose logits are wanted go through the output norm and matrix.
    float* xn = scratch.alloc<float>(n_out * d);
    int64_t o = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
        const SeqRows& s = seqs[i];
        const int64_t first = chunks[i].logits == Logits::kAll ? 0 : s.n - 1;
        if (chunks[i].logits == Logits::kNone) continue;
        std::copy(x + (s.row0 + first) * d, x + (s.row0 + s.n) * d, xn + o * d);
        o += s.n - first;
    }
    if (out == Output::kHidden) {
        cpu::rms_norm(pool, xn, output_norm_.data(), logits, n_out, d, hp.rms_eps);
        return n_out;
    }
    cpu::rms_norm(pool, xn, output_norm_.data(), xn, n_out, d, hp.rms_eps);
    cpu::matmul(pool, output_, xn, n_out, logits);
    return n_out;
}

}  // namespace hearth::model
