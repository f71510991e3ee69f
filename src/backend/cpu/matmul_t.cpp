#include "backend/cpu/matmul_t.h"

#include <algorithm>
#include <vector>

#include "quant/quant.h"

namespace hearth::backend::cpu {

void matmul_transposed(const Weight& w, const float* x, int64_t n_tokens, float* y) {
    std::fill(y, y + n_tokens * w.cols, 0.0f);
    std::vector<float> row(static_cast<size_t>(w.cols));
    for (int64_t r = 0; r < w.rows; ++r) {
        quant::dequantize_row(w.type, w.data + static_cast<size_t>(r) * w.row_bytes, row.data(), w.cols);
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float a = x[t * w.rows + r];
            float* yt = y + t * w.cols;
            for (int64_t c = 0; c < w.cols; ++c) yt[c] += a * row[static_cast<size_t>(c)];
        }
    }
}

void matmul_serial_f32(const Weight& w, const float* x, int64_t n_tokens, float* y) {
    std::vector<float> row(static_cast<size_t>(w.cols));
    for (int64_t r = 0; r < w.rows; ++r) {
        quant::dequantize_row(w.type, w.data + static_cast<size_t>(r) * w.row_bytes, row.data(), w.cols);
        for (int64_t t = 0; t < n_tokens; ++t) {
            const float* xt = x + t * w.cols;
            float s = 0.0f;
            for (int64_t c = 0; c < w.cols; ++c) s += row[static_cast<size_t>(c)] * xt[c];
            y[t * w.rows + r] = s;
        }
    }
}

}  // namespace hearth::backend::cpu
