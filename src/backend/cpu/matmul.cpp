#include "backend/cpu/matmul.h"

#include <algorithm>
#include <atomic>

#include "core/thread_pool.h"
#include "quant/quant.h"

namespace hearth::backend::cpu {

namespace {
std::atomic<bool> g_reference{false};

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

void matmul(ThreadPool& pool, const Weight& w, const float* x, int64_t n_tokens, float* y) {
    if (g_reference) {
        matmul_reference(pool, w, x, n_tokens, y);
        return;
    }
    const DType act_type = quant::vec_dot_type(w.type);
    const size_t act_row = dtype_row_bytes(act_type, w.cols);
    // Reused across calls on the same thread: the decode loop calls this hundreds of times per token.
    thread_local std::vector<uint8_t> act;
    if (act.size() < act_row * static_cast<size_t>(n_tokens)) act.resize(act_row * static_cast<size_t>(n_tokens));
    uint8_t* act_data = act.data();
    if (act_type == DType::F32) {
        std::copy(x, x + n_tokens * w.cols, reinterpret_cast<float*>(act_data));
    } else {
        pool.parallel_for(n_tokens, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) quant::quantize_row(act_type, x + t * w.cols, act_data + t * act_row, w.cols);
        });
    }
    // Rows in blocks so that each thread streams its share of the weight once.
    const int64_t rows = w.rows, cols = w.cols;
    pool.parallel_for(rows, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const uint8_t* wr = w.data + static_cast<size_t>(r) * w.row_bytes;
            for (int64_t t = 0; t < n_tokens; ++t)
                y[t * rows + r] = quant::vec_dot(w.type, wr, act_data + t * act_row, cols);
        }
    });
}

void get_row(const Weight& w, int64_t index, float* out) {
    quant::dequantize_row(w.type, w.data + static_cast<size_t>(index) * w.row_bytes, out, w.cols);
}

}  // namespace hearth::backend::cpu
