#include "model/blocks.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "backend/cpu/ops.h"
#include "core/thread_pool.h"

namespace hearth::model {

namespace cpu = backend::cpu;

void store_rows(ForwardBatch& b, int64_t layer, const float* k, int64_t k_width, const float* v, int64_t v_width) {
    for (const SeqRows& s : b.seqs)
        for (int64_t t = 0; t < s.n; ++t) {
            const int64_t r = s.row0 + t;
            s.cache->store(layer, s.pos0 + t, k + r * k_width, v_width > 0 ? v + r * v_width : nullptr);
        }
}

void attention_jobs(ForwardBatch& b, std::span<const cpu::AttentionArgs> per_seq) {
    if (per_seq.size() == 1) {
        cpu::attention(b.pool, per_seq[0]);
        return;
    }
    // One job is one token of one sequence against one KV head (with its query-head group),
    // expressed as a one-token, one-KV-head AttentionArgs so the backend's kernel does the
    // arithmetic exactly as it would in a single-sequence call. A job runs on one thread;
    // ThreadPool(1) runs its work inline and holds no threads, so one shared instance serves
    // every worker of the outer region.
    static ThreadPool inline_pool(1);
    struct Job {
        int32_t seq;
        int32_t hk;
        int64_t t;
        int64_t last;  // keys the job reads, to start the longest first
    };
    ScratchScope scope(b.scratch);
    int64_t n_jobs = 0;
    for (const auto& a : per_seq) n_jobs += a.n_tokens * a.n_head_kv;
    Job* jobs = b.scratch.alloc<Job>(static_cast<size_t>(n_jobs));
    int64_t j = 0;
    for (size_t s = 0; s < per_seq.size(); ++s)
        for (int64_t t = 0; t < per_seq[s].n_tokens; ++t)
            for (int64_t hk = 0; hk < per_seq[s].n_head_kv; ++hk)
                jobs[j++] = Job{static_cast<int32_t>(s), static_cast<int32_t>(hk), t, per_seq[s].pos0 + t};
    std::sort(jobs, jobs + n_jobs, [](const Job& x, const Job& y) { return x.last > y.last; });

    std::atomic<int64_t> next{0};
    b.pool.run([&](int, int) {
        for (;;) {
            const int64_t k = next.fetch_add(1, std::memory_order_relaxed);
            if (k >= n_jobs) break;
            const Job& job = jobs[k];
            const cpu::AttentionArgs& a = per_seq[static_cast<size_t>(job.seq)];
            const int64_t G = a.n_head / a.n_head_kv;
            const size_t elem = a.kv_type == DType::F16 ? 2 : 4;
            cpu::AttentionArgs one = a;
            one.q = a.q + (job.t * a.n_head + job.hk * G) * a.head_dim_k;
            one.out = a.out + (job.t * a.n_head + job.hk * G) * a.head_dim_v;
            one.n_tokens = 1;
            one.pos0 = a.pos0 + job.t;
            one.n_head = G;
            one.n_head_kv = 1;
            one.k = a.k + static_cast<size_t>(job.hk * a.head_dim_k) * elem;
            one.v = a.v + static_cast<size_t>(job.hk * a.head_dim_v) * elem;
            cpu::attention(inline_pool, one);
        }
    });
}

void attention_block(const HParams& hp, const AttentionWeights& w, int64_t layer, ForwardBatch& b, float* x) {
    const int64_t n = b.n, d = hp.n_embd;
    ScratchScope scope(b.scratch);
    float* xn = b.scratch.alloc<float>(n * d);
    float* q = b.scratch.alloc<float>(n * hp.q_dim());
    float* k = b.scratch.alloc<float>(n * hp.k_dim());
    float* v = b.scratch.alloc<float>(n * hp.v_dim());
    float* att = b.scratch.alloc<float>(n * hp.n_head * hp.head_dim_v);
    float* out = xn;  // the normed rows are dead once q, k and v are made
    cpu::rms_norm(b.pool, x, w.norm.data(), xn, n, d, hp.rms_eps);
    cpu::matmul(b.pool, w.wq, xn, n, q, b.prompt_rows);
    cpu::matmul(b.pool, w.wk, xn, n, k, b.prompt_rows);
    cpu::matmul(b.pool, w.wv, xn, n, v, b.prompt_rows);
    if (!w.bq.empty()) cpu::add_bias(q, w.bq.data(), n, hp.q_dim());
    if (!w.bk.empty()) cpu::add_bias(k, w.bk.data(), n, hp.k_dim());
    if (!w.bv.empty()) cpu::add_bias(v, w.bv.data(), n, hp.v_dim());
    if (!w.q_norm.empty()) cpu::rms_norm(b.pool, q, w.q_norm.data(), q, n * hp.n_head, hp.head_dim_k, hp.rms_eps);
    if (!w.k_norm.empty()) cpu::rms_norm(b.pool, k, w.k_norm.data(), k, n * hp.n_head_kv, hp.head_dim_k, hp.rms_eps);
    const bool neox = hp.rope_style == RopeStyle::kNeox;
    const float pos_scale = hp.rope_scaling == RopeScaling::kLinear ? hp.rope_scale_factor : 1.0f;
    cpu::rope(q, n, hp.n_head, hp.head_dim_k, hp.rope_dims, b.positions, hp.rope_base, pos_scale, b.rope_freqs, neox);
    cpu::rope(k, n, hp.n_head_kv, hp.head_dim_k, hp.rope_dims, b.positions, hp.rope_base, pos_scale, b.rope_freqs, neox);
    store_rows(b, layer, k, hp.k_dim(), v, hp.v_dim());

    const float scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));
    attention_per_sequence(b, [&](const SeqRows& s) {
        cpu::AttentionArgs a;
        a.q = q + s.row0 * hp.q_dim();
        a.n_tokens = s.n;
        a.pos0 = s.pos0;
        a.n_head = hp.n_head;
        a.n_head_kv = hp.n_head_kv;
        a.head_dim_k = hp.head_dim_k;
        a.head_dim_v = hp.head_dim_v;
        a.scale = scale;
        a.kv_type = s.cache->type();
        a.k = s.cache->k(layer, 0);
        a.v = s.cache->v(layer, 0);
        a.k_stride = s.cache->k_row_bytes();
        a.v_stride = s.cache->v_row_bytes();
        a.out = att + s.row0 * hp.n_head * hp.head_dim_v;
        return a;
    });
    cpu::matmul(b.pool, w.wo, att, n, out, b.prompt_rows);
    cpu::add_inplace(b.pool, x, out, n * d);
}

void dense_ffn_block(const HParams& hp, const DenseFfnWeights& w, ForwardBatch& b, float* x) {
    const int64_t n = b.n, d = hp.n_embd, ff = w.gate.rows;
    ScratchScope scope(b.scratch);
    float* xn = b.scratch.alloc<float>(n * d);
    float* up = b.scratch.alloc<float>(n * ff);
    cpu::rms_norm(b.pool, x, w.norm.data(), xn, n, d, hp.rms_eps);
    cpu::matmul(b.pool, w.up, xn, n, up, b.prompt_rows);
    // Past a batched decode's rows the gate is made kGateSlice weight rows at a time and folded
    // into `up` at once, so a pass holds one n x ff buffer instead of two (at 64 rows, 1 MB less
    // for Qwen2.5-0.5B). Every product is computed as the whole matrix would compute it, so the
    // result is bit-identical; fewer rows keep one call (the pool dispatches count there). 1024
    // measured as fast as the whole gate at pp512 (512 was 5% slower at 2 threads).
    constexpr int64_t kGateSlice = 1024;
    const int64_t slice = n > 16 ? std::min(kGateSlice, ff) : ff;
    float* gate = b.scratch.alloc<float>(n * slice);
    for (int64_t f0 = 0; f0 < ff; f0 += slice) {
        const int64_t fs = std::min(slice, ff - f0);
        cpu::Weight part = w.gate;
        part.rows = fs;
        part.data += static_cast<size_t>(f0) * w.gate.row_bytes;
        cpu::matmul(b.pool, part, xn, n, gate, b.prompt_rows);
        if (fs == ff) {
            cpu::swiglu(b.pool, gate, up, up, n * ff);
            continue;
        }
        b.pool.parallel_for(n, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) cpu::swiglu(gate + t * fs, up + t * ff + f0, up + t * ff + f0, fs);
        });
    }
    float* out = xn;  // the normed rows are dead once gate and up are made
    cpu::matmul(b.pool, w.down, up, n, out, b.prompt_rows);
    cpu::add_inplace(b.pool, x, out, n * d);
}

}  // namespace hearth::model
