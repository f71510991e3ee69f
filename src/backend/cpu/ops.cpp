#include "backend/cpu/ops.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/vec_math.h"
#include "core/thread_pool.h"

namespace hearth::backend::cpu {

namespace {

// Below this many elements a parallel region costs more than it saves: decode-sized
// calls (one token) stay on the calling thread.
constexpr int64_t kParallelMin = 1 << 14;

// f(begin, end) over [0, n) in chunks of whole multiples of 64 elements (cache lines and
// every vector width), one per pool thread.
template <class F>
void split(ThreadPool& pool, int64_t n, F f) {
    if (pool.size() == 1 || n < kParallelMin) {
        f(int64_t{0}, n);
        return;
    }
    const int64_t chunks = (n + 63) / 64;
    pool.parallel_for(chunks, [&](int64_t b, int64_t e) { f(b * 64, std::min(n, e * 64)); });
}

}  // namespace

void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t d, float eps) {
    const auto& k = vec::row_kernels();
    for (int64_t r = 0; r < n_rows; ++r) k.rms_norm_row(x + r * d, w, y + r * d, d, eps);
}

void rms_norm(ThreadPool& pool, const float* x, const float* w, float* y, int64_t n_rows, int64_t d, float eps) {
    if (pool.size() == 1 || n_rows < 2 || n_rows * d < kParallelMin) {
        rms_norm(x, w, y, n_rows, d, eps);
        return;
    }
    const auto& k = vec::row_kernels();
    pool.parallel_for(n_rows, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) k.rms_norm_row(x + r * d, w, y + r * d, d, eps);
    });
}

void rope(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t rope_dims,
          const int32_t* positions, float base, float pos_scale, const float* freq_factors, bool neox) {
    const int64_t half = rope_dims / 2;
    for (int64_t r = 0; r < n_rows; ++r) {
        const float pos = static_cast<float>(positions[r]) / pos_scale;
        for (int64_t i = 0; i < half; ++i) {
            float inv_freq = 1.0f / std::pow(base, static_cast<float>(2 * i) / static_cast<float>(rope_dims));
            if (freq_factors) inv_freq /= freq_factors[i];
            const float theta = pos * inv_freq;
            const float c = std::cos(theta), s = std::sin(theta);
            for (int64_t h = 0; h < n_heads; ++h) {
                float* v = x + (r * n_heads + h) * head_dim;
                const int64_t a = neox ? i : 2 * i;
                const int64_t b = neox ? i + half : 2 * i + 1;
                const float x0 = v[a], x1 = v[b];
                v[a] = x0 * c - x1 * s;
                v[b] = x0 * s + x1 * c;
            }
        }
    }
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) { vec::row_kernels().swiglu(gate, up, out, n); }

void swiglu(ThreadPool& pool, const float* gate, const float* up, float* out, int64_t n) {
    const auto& k = vec::row_kernels();
    split(pool, n, [&](int64_t b, int64_t e) { k.swiglu(gate + b, up + b, out + b, e - b); });
}

void add_inplace(float* x, const float* y, int64_t n) { vec::row_kernels().add(x, y, n); }

void add_inplace(ThreadPool& pool, float* x, const float* y, int64_t n) {
    const auto& k = vec::row_kernels();
    split(pool, n, [&](int64_t b, int64_t e) { k.add(x + b, y + b, e - b); });
}

void add_bias(float* x, const float* bias, int64_t n_rows, int64_t d) {
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t i = 0; i < d; ++i) x[r * d + i] += bias[i];
}

void softmax(float* x, int64_t n) {
    if (n <= 0) return;
    float m = *std::max_element(x, x + n);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - m);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace hearth::backend::cpu
