#include "backend/cpu/moe.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <string>

#include "backend/cpu/ops.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "quant/quant.h"

// Two paths over the same routing plan (slots t*k+j sorted by expert, token order within one):
//
// Fused (small batches): a decode step used to cost three pool regions per chosen expert plus a
// swiglu and an add, with the activations quantized again for every matrix. Here the whole
// step is two regions. The first hands out (expert, row block) items computing gate and up
// rows for all of that expert's tokens plus the SwiGLU; whichever thread finishes an expert's
// last block quantizes its hidden rows for the down projection. The second hands out row
// blocks of the output, each running every chosen expert's down rows of that block and the
// weighted sum, so no two threads write the same output. The shared expert is one more
// expert in both regions, over all tokens, with weight 1.
//
// By expert (prefill): each chosen expert's tokens are gathered and run through the pool-wide
// matmul, so that its weights are read once per call and its products use the tiled
// many-token kernels.

namespace hearth::backend::cpu {

namespace {

// Rows per work item: one contiguous share per thread, as matmul's decode path does, so each
// thread reads one long sequential stream per matrix (the prefetcher restarts at every jump),
// but at least 32 so that small matrices are not cut finer than the dispatch is worth.
int64_t block_rows(int64_t rows, int nth) {
    const int64_t share = (rows + nth - 1) / nth;
    return std::max<int64_t>(32, (share + 15) / 16 * 16);
}

// Bump allocation in the caller's workspace; with base == nullptr it only measures.
struct Carve {
    std::byte* base;
    size_t used = 0;
    template <class T>
    T* take(size_t n) {
        const size_t off = (used + 63) & ~size_t{63};
        used = off + n * sizeof(T);
        return base ? reinterpret_cast<T*>(base + off) : nullptr;
    }
};

// start[e]..start[e+1]: positions of expert e's slots in `order` (slot ids by expert, stable).
void plan_slots(const int32_t* ids, int64_t n_slots, int64_t n_expert, int64_t* start, int64_t* order) {
    std::fill(start, start + n_expert + 1, int64_t{0});
    for (int64_t s = 0; s < n_slots; ++s) {
        const int32_t e = ids[s];
        if (e < 0 || e >= n_expert)
            throw Error("expert id " + std::to_string(e) + " out of range (the model has " + std::to_string(n_expert) +
                        " experts)");
        ++start[e + 1];
    }
    for (int64_t e = 0; e < n_expert; ++e) start[e + 1] += start[e];
    // start[e] is advanced while filling and then shifted back by one expert.
    for (int64_t s = 0; s < n_slots; ++s) order[start[ids[s]]++] = s;
    for (int64_t e = n_expert; e > 0; --e) start[e] = start[e - 1];
    start[0] = 0;
}

// ---- fused path ----

// One expert's work in the fused step: `m` token rows through gate/up, SwiGLU, down.
struct Group {
    Weight gate, up, down;
    const uint8_t* act_gate;  // m activation rows in gate's dot format
    const uint8_t* act_up;    // same in up's
    size_t arow_gate, arow_up;
    float* h;                 // m x ff: silu(gate) * up
    uint8_t* hq;              // h in down's dot format
    size_t hrow;
    float* y;                 // m x d: down's output rows
    int64_t m, rb, n_blocks, item0;
    std::atomic<int64_t> done;
};

struct FusedLayout {
    int64_t* start;
    int64_t* order;
    int64_t* pos;        // slot -> sorted position
    Group* groups;
    uint8_t* xq[4];      // x quantized for gate, up, gate_sh, up_sh
    uint8_t* gathered[2];  // routed slots' rows of x in sorted order, gate's and up's format
    float* h;
    uint8_t* hq;
    float* y;            // n*k routed rows in sorted order, then n shared rows
    float* tmp;          // per thread: up's outputs for one item
};

FusedLayout fused_layout(Carve& c, const ExpertFfn& f, int64_t n, int64_t k, int nth) {
    const int64_t E = f.gate.n_expert, d = f.gate.all.cols, ff = f.gate.rows, P = n * k;
    const int64_t ff_sh = f.has_shared() ? f.gate_sh.rows : 0, n_sh = f.has_shared() ? n : 0;
    FusedLayout L{};
    L.start = c.take<int64_t>(E + 1);
    L.order = c.take<int64_t>(P);
    L.pos = c.take<int64_t>(P);
    L.groups = c.take<Group>(std::min(E, P) + 1);
    const Weight* in[4] = {&f.gate.all, &f.up.all, &f.gate_sh, &f.up_sh};
    for (int i = 0; i < 4; ++i) L.xq[i] = in[i]->empty() ? nullptr : c.take<uint8_t>(n * act_row_bytes(in[i]->type, d));
    for (int i = 0; i < 2; ++i) L.gathered[i] = c.take<uint8_t>(P * act_row_bytes(in[i]->type, d));
    L.h = c.take<float>(P * ff + n_sh * ff_sh);
    L.hq = c.take<uint8_t>(P * act_row_bytes(f.down.all.type, ff) +
                           (n_sh ? n_sh * act_row_bytes(f.down_sh.type, ff_sh) : 0));
    L.y = c.take<float>((P + n_sh) * d);
    L.tmp = c.take<float>(static_cast<size_t>(nth) * std::max(P, n) * block_rows(std::max(ff, ff_sh), nth));
    return L;
}

void add_scaled(float* o, const float* y, float w, int64_t n) {
    for (int64_t i = 0; i < n; ++i) o[i] += w * y[i];
}

void moe_fused(ThreadPool& pool, const ExpertFfn& f, const float* x, int64_t n, const int32_t* ids, const float* weights,
               int64_t k, float* out, void* workspace) {
    const int64_t E = f.gate.n_expert, d = f.gate.all.cols, ff = f.gate.rows, P = n * k;
    const int nth = pool.size();
    Carve c{static_cast<std::byte*>(workspace)};
    FusedLayout L = fused_layout(c, f, n, k, nth);
    plan_slots(ids, P, E, L.start, L.order);
    for (int64_t p = 0; p < P; ++p) L.pos[L.order[p]] = p;

    // Activations once per token and dot format; a matrix whose format matches an earlier
    // one's reuses its rows.
    const Weight* in[4] = {&f.gate.all, &f.up.all, &f.gate_sh, &f.up_sh};
    const uint8_t* xq[4] = {};
    size_t arow[4] = {};
    for (int i = 0; i < 4; ++i) {
        if (in[i]->empty()) continue;
        (void)quant::vec_dot_fn(in[i]->type);  // throws here, not inside the pool, for a type without kernels
        arow[i] = act_row_bytes(in[i]->type, d);
        for (int j = 0; j < i && !xq[i]; ++j)
            if (xq[j] && quant::vec_dot_type(in[j]->type) == quant::vec_dot_type(in[i]->type)) xq[i] = xq[j];
        if (!xq[i]) {
            quantize_acts(in[i]->type, x, n, d, L.xq[i]);
            xq[i] = L.xq[i];
        }
    }
    (void)quant::vec_dot_fn(f.down.all.type);
    if (f.has_shared()) (void)quant::vec_dot_fn(f.down_sh.type);
    const uint8_t* gathered[2] = {L.gathered[0], L.gathered[1]};
    for (int i = 0; i < 2; ++i) {
        if (i == 1 && xq[1] == xq[0]) {
            gathered[1] = gathered[0];
            break;
        }
        for (int64_t p = 0; p < P; ++p)
            std::copy_n(xq[i] + static_cast<size_t>(L.order[p] / k) * arow[i], arow[i], L.gathered[i] + p * arow[i]);
    }

    const size_t hrow = act_row_bytes(f.down.all.type, ff);
    int64_t n_groups = 0, items1 = 0;
    auto add_group = [&](const Weight& g, const Weight& u, const Weight& dn, const uint8_t* ag, const uint8_t* au,
                         size_t rg, size_t ru, float* h, uint8_t* hq, size_t hr, float* y, int64_t m) {
        Group* G = new (&L.groups[n_groups++]) Group{};
        G->gate = g, G->up = u, G->down = dn;
        G->act_gate = ag, G->act_up = au, G->arow_gate = rg, G->arow_up = ru;
        G->h = h, G->hq = hq, G->hrow = hr, G->y = y, G->m = m;
        G->rb = block_rows(g.rows, nth);
        G->n_blocks = (g.rows + G->rb - 1) / G->rb;
        G->item0 = items1;
        items1 += G->n_blocks;
    };
    for (int64_t e = 0; e < E; ++e) {
        const int64_t p0 = L.start[e], m = L.start[e + 1] - p0;
        if (m == 0) continue;
        add_group(f.gate.expert(e), f.up.expert(e), f.down.expert(e), gathered[0] + p0 * arow[0],
                  gathered[1] + p0 * arow[1], arow[0], arow[1], L.h + p0 * ff, L.hq + p0 * hrow, hrow, L.y + p0 * d, m);
    }
    if (f.has_shared()) {
        const int64_t ff_sh = f.gate_sh.rows;
        add_group(f.gate_sh, f.up_sh, f.down_sh, xq[2], xq[3], arow[2], arow[3], L.h + P * ff, L.hq + P * hrow,
                  act_row_bytes(f.down_sh.type, ff_sh), L.y + P * d, n);
    }
    Group* groups = L.groups;

    // Region 1: gate and up rows, SwiGLU, and the hidden rows' quantization by the last finisher.
    std::atomic<int64_t> next1{0};
    auto region1 = [&](int thread, int) {
        const int64_t tmp_ld = block_rows(std::max(ff, f.has_shared() ? f.gate_sh.rows : int64_t{0}), nth);
        float* tmp = L.tmp + static_cast<size_t>(thread) * std::max(P, n) * tmp_ld;
        int64_t gi = 0;
        for (;;) {
            const int64_t it = next1.fetch_add(1, std::memory_order_relaxed);
            if (it >= items1) break;
            while (groups[gi].item0 + groups[gi].n_blocks <= it) ++gi;  // items are claimed in increasing order
            Group& G = groups[gi];
            const int64_t gff = G.gate.rows, r0 = (it - G.item0) * G.rb, r1 = std::min(gff, r0 + G.rb);
            matmul_rows(G.gate, r0, r1, G.act_gate, G.arow_gate, G.m, G.h + r0, static_cast<size_t>(gff));
            matmul_rows(G.up, r0, r1, G.act_up, G.arow_up, G.m, tmp, static_cast<size_t>(tmp_ld));
            for (int64_t i = 0; i < G.m; ++i) swiglu(G.h + i * gff + r0, tmp + i * tmp_ld, G.h + i * gff + r0, r1 - r0);
            // acq_rel: the finisher sees every other thread's rows of h.
            if (G.done.fetch_add(1, std::memory_order_acq_rel) + 1 == G.n_blocks)
                quantize_acts(G.down.type, G.h, G.m, gff, G.hq);
        }
    };
    // Region 2: per output row block, every group's down rows, then the weighted sum.
    const int64_t rb2 = block_rows(d, nth), items2 = (d + rb2 - 1) / rb2;
    std::atomic<int64_t> next2{0};
    auto region2 = [&](int, int) {
        for (;;) {
            const int64_t it = next2.fetch_add(1, std::memory_order_relaxed);
            if (it >= items2) break;
            const int64_t r0 = it * rb2, r1 = std::min(d, r0 + rb2);
            for (int64_t g = 0; g < n_groups; ++g) {
                const Group& G = groups[g];
                matmul_rows(G.down, r0, r1, G.hq, G.hrow, G.m, G.y + r0, static_cast<size_t>(d));
            }
            for (int64_t t = 0; t < n; ++t) {
                float* o = out + t * d + r0;
                std::fill(o, o + (r1 - r0), 0.0f);
                for (int64_t j = 0; j < k; ++j)
                    add_scaled(o, L.y + L.pos[t * k + j] * d + r0, weights[t * k + j], r1 - r0);
                if (f.has_shared()) add_scaled(o, L.y + (P + t) * d + r0, 1.0f, r1 - r0);
            }
        }
    };
    // Through a pointer: a std::function holding only that needs no heap block.
    auto* r1 = &region1;
    auto* r2 = &region2;
    pool.run([r1](int t, int nt) { (*r1)(t, nt); });
    pool.run([r2](int t, int nt) { (*r2)(t, nt); });
}

// ---- by-expert path ----

struct ByExpertLayout {
    int64_t* start;
    int64_t* order;
    float *xs, *g, *u, *y;
};

ByExpertLayout by_expert_layout(Carve& c, const ExpertFfn& f, int64_t n, int64_t k) {
    const int64_t E = f.gate.n_expert, d = f.gate.all.cols;
    const int64_t ff = std::max(f.gate.rows, f.has_shared() ? f.gate_sh.rows : int64_t{0});
    ByExpertLayout L{};
    L.start = c.take<int64_t>(E + 1);
    L.order = c.take<int64_t>(n * k);
    L.xs = c.take<float>(n * d);
    L.g = c.take<float>(n * ff);
    L.u = c.take<float>(n * ff);
    L.y = c.take<float>(n * d);
    return L;
}

void moe_by_expert(ThreadPool& pool, const ExpertFfn& f, const float* x, int64_t n, const int32_t* ids,
                   const float* weights, int64_t k, float* out, void* workspace) {
    const int64_t E = f.gate.n_expert, d = f.gate.all.cols, ff = f.gate.rows;
    Carve c{static_cast<std::byte*>(workspace)};
    ByExpertLayout L = by_expert_layout(c, f, n, k);
    plan_slots(ids, n * k, E, L.start, L.order);
    std::fill(out, out + n * d, 0.0f);
    for (int64_t e = 0; e < E; ++e) {
        // At most n rows at a time: the buffers hold n, and a token may (in principle) pick an expert twice.
        for (int64_t p0 = L.start[e]; p0 < L.start[e + 1]; p0 += n) {
            const int64_t m = std::min(n, L.start[e + 1] - p0);
            const int64_t* sl = L.order + p0;
            for (int64_t i = 0; i < m; ++i) std::copy_n(x + (sl[i] / k) * d, d, L.xs + i * d);
            matmul(pool, f.gate.expert(e), L.xs, m, L.g);
            matmul(pool, f.up.expert(e), L.xs, m, L.u);
            swiglu(pool, L.g, L.u, L.g, m * ff);
            matmul(pool, f.down.expert(e), L.g, m, L.y);
            for (int64_t i = 0; i < m; ++i) add_scaled(out + (sl[i] / k) * d, L.y + i * d, weights[sl[i]], d);
        }
    }
    if (f.has_shared()) {
        const int64_t ff_sh = f.gate_sh.rows;
        matmul(pool, f.gate_sh, x, n, L.g);
        matmul(pool, f.up_sh, x, n, L.u);
        swiglu(pool, L.g, L.u, L.g, n * ff_sh);
        matmul(pool, f.down_sh, L.g, n, L.y);
        add_inplace(pool, out, L.y, n * d);
    }
}

// Reference mode must reach matmul (which honours it), so it takes the by-expert path. So does
// a single thread: the fused step saves pool dispatches, and with one thread there are none to
// save, while the per-expert matmul reads each expert's rows as one stream (on a quiet machine
// the fused step measured 0.92x the by-expert one at 1 thread and 1 token, 1.05x-1.15x at 2
// threads: HEARTH_MOE_TIMING=1 hearth_tests --gtest_filter=MoeKernelTiming.*).
bool use_fused(int64_t n_tokens, int n_threads) {
    return n_threads > 1 && n_tokens <= kMoeFusedMaxTokens && !reference_matmul();
}

}  // namespace

size_t moe_workspace_bytes(const ExpertFfn& f, int64_t n_tokens, int64_t k, int n_threads) {
    Carve by{nullptr};
    by_expert_layout(by, f, n_tokens, k);
    size_t bytes = by.used;
    if (n_tokens <= kMoeFusedMaxTokens) {
        Carve fu{nullptr};
        fused_layout(fu, f, n_tokens, k, n_threads);
        bytes = std::max(bytes, fu.used);
    }
    return bytes + 64;
}

void moe_ffn(ThreadPool& pool, const ExpertFfn& f, const float* x, int64_t n_tokens, const int32_t* ids,
             const float* weights, int64_t k, float* out, void* workspace) {
    if (n_tokens <= 0) return;
    if (use_fused(n_tokens, pool.size())) moe_fused(pool, f, x, n_tokens, ids, weights, k, out, workspace);
    else moe_by_expert(pool, f, x, n_tokens, ids, weights, k, out, workspace);
}

}  // namespace hearth::backend::cpu
