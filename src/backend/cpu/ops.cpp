#include "backend/cpu/ops.h"

#include <algorithm>
#include <cmath>

namespace hearth::backend::cpu {

void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t d, float eps) {
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x + r * d;
        float* yr = y + r * d;
        // Accumulate in double: the reference (and llama.cpp's ggml_rms_norm) does the same
        // sum in high precision, and rms is computed once per row, so it costs nothing.
        double ss = 0.0;
        for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(xr[i]) * xr[i];
        const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
        if (w) {
            for (int64_t i = 0; i < d; ++i) yr[i] = xr[i] * scale * w[i];
        } else {
            for (int64_t i = 0; i < d; ++i) yr[i] = xr[i] * scale;
        }
    }
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

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void add_inplace(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
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
