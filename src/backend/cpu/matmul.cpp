#include "backend/cpu/matmul.h"

#include <algorithm>
#include <atomic>

#include "core/thread_pool.h"
#include "quant/quant.h"

namespace hearth::backend::cpu {

namespace {
std::atomic<bool> g_reference{false};

// Up to this many tokens per call is a decode step of that many batched sequences.
constexpr int64_t kBatchedDecodeTokens = 16;

void matmul_reference(ThreadPool& pool, const Weight& w, const float* x, int64_t n_tokens, float* y) {
    pool.parallel_for(w.rows, [&](int64_t b, int64_t e) {
        std::vector<float> row(static_cast<size_t>(w.cols));
        for (int64_t r = b; r < e; ++r) {
            quant::dequantize_row(w.type, w.data + static_cast<size_t>(r) * w.row_bytes, row.data(), w.cols);
            for (int64_t t = 0; t < n_tokens; ++t) {
                const float* xt = x + t * w.cols;
                float s = 0.0f;
                for (int64_t i = 0; i < w.cols; ++i) s += row[static_cast<size_t>(i)] * xt[i];
                y[t * w.rows + r] = s;
            }
        }
    });
}
}  // namespace

void set_reference_matmul(bool on) { g_reference = on; }
bool reference_matmul() { return g_reference; }

namespace {

// Rows [t0, t1) of an already quantized call through one kernel.
void matmul_segment(ThreadPool& pool, const Weight& w, const uint8_t* act_data, size_t act_row, int64_t t0, int64_t t1,
                    float* y, quant::GemmFn gemm) {
    const int64_t n_tokens = t1 - t0;
    // Tiled kernels take a block of rows x tokens; types without one loop over the per-row dot.
    struct Ctx {
        const Weight* w;
        const uint8_t* act;
        size_t act_row;
        float* y;
        quant::GemmFn gemm;
        quant::VecDotFn dot;
        int64_t n_tokens, rb, tb, n_rb, total;
        std::atomic<int64_t> next{0};
    } c;
    c.w = &w;
    c.act = act_data + static_cast<size_t>(t0) * act_row;
    c.act_row = act_row;
    c.y = y + t0 * w.rows;
    c.gemm = gemm;
    c.dot = c.gemm ? nullptr : quant::vec_dot_fn(w.type);
    c.n_tokens = n_tokens;

    // Work items are (token block, row block) pairs handed out dynamically, so a thread slowed
    // by other load on the machine does not hold up the rest. Row blocks of 16 (64, above) keep a tile row
    // group's weights in L1/L2 while token tiles stream past; token blocks of 64 keep the
    // activations of a block in L2. When rows are few, tokens are split further so every
    // thread has work.
    const int64_t nth = pool.size();
    // The 32-element formats' tiles lay the block's activations out once per item (3x their
    // size), so taller items amortise that over more rows (measured ~10-25% faster at 64).
    c.rb = (w.rows >= 16384 || dtype_info(w.type).block_elems == 32) ? 64 : 16;
    if (n_tokens <= quant::kGemmTokens) {
        // Decode (of up to 4 batched sequences, whose tiles also go a row at a time): one
        // contiguous share of rows per thread, so each reads one long sequential stream (the
        // prefetcher restarts at every jump between interleaved small blocks).
        c.rb = std::max<int64_t>(16, (w.rows + nth - 1) / nth);
    } else if (n_tokens <= kBatchedDecodeTokens) {
        // A batched decode of 5-16 sequences: every token in one item, and taller row blocks
        // than prefill's, since the tile loop prefetches the next chunk of a block's rows while
        // the current one computes and so streams only within an item; still about four items
        // per thread, claimed dynamically, so a thread slowed by other load does not hold up
        // the step.
        c.rb = std::clamp<int64_t>(w.rows / (4 * nth) / 64 * 64, 64, 512);
    }
    c.n_rb = (w.rows + c.rb - 1) / c.rb;
    c.tb = std::min<int64_t>(n_tokens, 64);
    if (n_tokens > 1 && c.n_rb * ((n_tokens + c.tb - 1) / c.tb) < 4 * nth) {
        const int64_t want_tb = (n_tokens * c.n_rb + 4 * nth - 1) / (4 * nth);
        c.tb = std::max<int64_t>(quant::kGemmTokens, (want_tb + quant::kGemmTokens - 1) / quant::kGemmTokens * quant::kGemmTokens);
        c.tb = std::min(c.tb, n_tokens);
    }
    const int64_t n_tb = (n_tokens + c.tb - 1) / c.tb;
    c.total = c.n_rb * n_tb;

    auto item = [](Ctx& c, int64_t k) {
        const Weight& w = *c.w;
        const int64_t t0 = (k / c.n_rb) * c.tb, r0 = (k % c.n_rb) * c.rb;
        const int64_t t1 = std::min(c.n_tokens, t0 + c.tb), r1 = std::min(w.rows, r0 + c.rb);
        const uint8_t* wr = w.data + static_cast<size_t>(r0) * w.row_bytes;
        const uint8_t* ar = c.act + static_cast<size_t>(t0) * c.act_row;
        if (c.gemm) {
            c.gemm(wr, w.row_bytes, ar, c.act_row, w.cols, c.y + t0 * w.rows + r0, static_cast<size_t>(w.rows), r1 - r0, t1 - t0);
            return;
        }
        for (int64_t t = t0; t < t1; ++t)
            for (int64_t r = r0; r < r1; ++r)
                c.y[t * w.rows + r] = c.dot(w.data + static_cast<size_t>(r) * w.row_bytes, c.act + static_cast<size_t>(t) * c.act_row, w.cols);
    };
    if (nth == 1 || c.total == 1) {
        for (int64_t k = 0; k < c.total; ++k) item(c, k);
        return;
    }
    Ctx* cp = &c;
    pool.run([cp, item](int, int) {
        for (;;) {
            const int64_t k = cp->next.fetch_add(1, std::memory_order_relaxed);
            if (k >= cp->total) break;
            item(*cp, k);
        }
    });
}

}  // namespace

void matmul(ThreadPool& pool, const Weight& w, const float* x, int64_t n_tokens, float* y,
            std::span<const RowRange> prompt_rows) {
    if (g_reference) {
        matmul_reference(pool, w, x, n_tokens, y);
        return;
    }
    if (n_tokens <= 0 || w.rows <= 0) return;
    const DType act_type = quant::vec_dot_type(w.type);
    const size_t act_row = dtype_row_bytes(act_type, w.cols);
    // Reused across calls on the same thread: the decode loop calls this hundreds of times per token.
    thread_local std::vector<uint8_t> act;
    if (act.size() < act_row * static_cast<size_t>(n_tokens)) act.resize(act_row * static_cast<size_t>(n_tokens));
    uint8_t* act_data = act.data();
    if (act_type == DType::F32) {
        std::copy(x, x + n_tokens * w.cols, reinterpret_cast<float*>(act_data));
    } else if (n_tokens == 1) {
        quant::quantize_row(act_type, x, act_data, w.cols);
    } else {
        pool.parallel_for(n_tokens, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) quant::quantize_row(act_type, x + t * w.cols, act_data + t * act_row, w.cols);
        });
    }
    const quant::GemmFn decode = quant::gemm_fn(w.type), prefill = quant::prefill_gemm_fn(w.type);
    if (decode == prefill || prompt_rows.empty()) {
        matmul_segment(pool, w, act_data, act_row, 0, n_tokens, y, prompt_rows.empty() ? decode : prefill);
        return;
    }
    // Alternating runs of decode and prompt rows, each through its own kernel.
    int64_t t = 0;
    for (const RowRange& r : prompt_rows) {
        const int64_t b = std::clamp<int64_t>(r.begin, t, n_tokens), e = std::clamp<int64_t>(r.end, b, n_tokens);
        if (b > t) matmul_segment(pool, w, act_data, act_row, t, b, y, decode);
        if (e > b) matmul_segment(pool, w, act_data, act_row, b, e, y, prefill);
        t = e;
    }
    if (t < n_tokens) matmul_segment(pool, w, act_data, act_row, t, n_tokens, y, decode);
}

size_t act_row_bytes(DType w_type, int64_t cols) { return dtype_row_bytes(quant::vec_dot_type(w_type), cols); }

void quantize_acts(DType w_type, const float* x, int64_t n_rows, int64_t cols, uint8_t* out) {
    const DType t = quant::vec_dot_type(w_type);
    const size_t row = dtype_row_bytes(t, cols);
    for (int64_t r = 0; r < n_rows; ++r) {
        if (t == DType::F32) std::copy(x + r * cols, x + (r + 1) * cols, reinterpret_cast<float*>(out + r * row));
        else quant::quantize_row(t, x + r * cols, out + r * row, cols);
    }
}

void matmul_rows(const Weight& w, int64_t r0, int64_t r1, const uint8_t* act, size_t act_row, int64_t n_tokens,
                 float* y, size_t ldy) {
    if (r1 <= r0 || n_tokens <= 0) return;
    const uint8_t* wr = w.data + static_cast<size_t>(r0) * w.row_bytes;
    if (const quant::GemmFn gemm = quant::gemm_fn(w.type)) {
        gemm(wr, w.row_bytes, act, act_row, w.cols, y, ldy, r1 - r0, n_tokens);
        return;
    }
    const quant::VecDotFn dot = quant::vec_dot_fn(w.type);
    for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t i = 0; i < r1 - r0; ++i)
            y[static_cast<size_t>(t) * ldy + i] = dot(wr + static_cast<size_t>(i) * w.row_bytes, act + t * act_row, w.cols);
}

void get_row(const Weight& w, int64_t index, float* out) {
    quant::dequantize_row(w.type, w.data + static_cast<size_t>(index) * w.row_bytes, out, w.cols);
}

}  // namespace hearth::backend::cpu
