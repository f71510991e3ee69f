// Scalar reference: dequantization, quantization and dot products, written for clarity
// and bit-exactness with ggml's definitions. Every SIMD path is tested against these.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/quant.h"

namespace hearth::quant {
namespace {

float h2f(uint16_t h) { return fp16_to_f32(h); }

uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// ---------------------------------------------------------------- dequantization

void deq_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = h2f(b[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = d * static_cast<float>((b[i].qs[j] & 0xF) - 8);
            y[j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
        }
    }
}

void deq_q4_1(const BlockQ4_1* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = d * static_cast<float>(b[i].qs[j] & 0xF) + m;
            y[j + 16] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
        }
    }
}

// The 5-bit quants of a Q5_0/Q5_1 block, unsigned 0..31.
void q5_values(const uint8_t* qh4, const uint8_t* qs, int q[kQK]) {
    const uint32_t qh = load_u32(qh4);
    for (int j = 0; j < kQK / 2; ++j) {
        q[j] = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1) << 4);
        q[j + 16] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
    }
}

void deq_q5_0(const BlockQ5_0* b, float* y, int64_t nb) {
    int q[kQK];
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = h2f(b[i].d);
        q5_values(b[i].qh, b[i].qs, q);
        for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(q[j] - 16);
    }
}

void deq_q5_1(const BlockQ5_1* b, float* y, int64_t nb) {
    int q[kQK];
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        q5_values(b[i].qh, b[i].qs, q);
        for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(q[j]) + m;
    }
}

void deq_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = h2f(b[i].d);
        for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
    }
}

// Element e of a Q2_K/Q3_K super-block reads bits 2s..2s+1 of qs[32h + l], where
// e = 128h + 32s + l.
int q2_at(const uint8_t* qs, int e) {
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    return (qs[32 * h + l] >> (2 * s)) & 3;
}

void deq_q2_k(const BlockQ2_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        for (int g = 0; g < 16; ++g) {
            const float dl = d * static_cast<float>(b[i].scales[g] & 0xF);
            const float ml = dmin * static_cast<float>(b[i].scales[g] >> 4);
            for (int k = 0; k < 16; ++k) {
                const int e = 16 * g + k;
                y[e] = dl * static_cast<float>(q2_at(b[i].qs, e)) - ml;
            }
        }
    }
}

int q3_at(const BlockQ3_K& b, int e) {
    const int high = (b.hmask[e % 32] >> (e / 32)) & 1;
    return q2_at(b.qs, e) - (high ? 0 : 4);
}

void deq_q3_k(const BlockQ3_K* b, float* y, int64_t nb) {
    int8_t sc[16];
    for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = h2f(b[i].d);
        q3k_scales(b[i].scales, sc);
        for (int g = 0; g < 16; ++g) {
            const float dl = d * static_cast<float>(sc[g]);
            for (int k = 0; k < 16; ++k) y[16 * g + k] = dl * static_cast<float>(q3_at(b[i], 16 * g + k));
        }
    }
}

// Element e of a Q4_K/Q5_K super-block: group g = e/32; groups 2c and 2c+1 share bytes
// qs[32c .. 32c+31] (low and high nibble).
int q4k_at(const uint8_t* qs, int e) {
    const int g = e / 32, l = e % 32;
    const uint8_t byte = qs[32 * (g / 2) + l];
    return (g & 1) ? (byte >> 4) : (byte & 0xF);
}

void deq_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        for (int g = 0; g < 8; ++g) {
            uint8_t sc, m;
            k4_scale_min(g, b[i].scales, sc, m);
            const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(m);
            for (int l = 0; l < 32; ++l) y[32 * g + l] = dl * static_cast<float>(q4k_at(b[i].qs, 32 * g + l)) - ml;
        }
    }
}

int q5k_at(const BlockQ5_K& b, int e) {
    return q4k_at(b.qs, e) | (((b.qh[e % 32] >> (e / 32)) & 1) << 4);
}

void deq_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        for (int g = 0; g < 8; ++g) {
            uint8_t sc, m;
            k4_scale_min(g, b[i].scales, sc, m);
            const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(m);
            for (int l = 0; l < 32; ++l) y[32 * g + l] = dl * static_cast<float>(q5k_at(b[i], 32 * g + l)) - ml;
        }
    }
}

// Element e = 128h + 32s + l of a Q6_K super-block: low nibble from ql[64h + 32(s&1) + l]
// (low nibble for s<2, high for s>=2), two high bits from qh[32h + l] at bits 2s.
int q6_at(const BlockQ6_K& b, int e) {
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    const uint8_t lo = b.ql[64 * h + 32 * (s & 1) + l];
    const int low = (s < 2) ? (lo & 0xF) : (lo >> 4);
    const int high = (b.qh[32 * h + l] >> (2 * s)) & 3;
    return (low | (high << 4)) - 32;
}

void deq_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
        const float d = h2f(b[i].d);
        for (int g = 0; g < 16; ++g) {
            const float dl = d * static_cast<float>(b[i].scales[g]);
            for (int k = 0; k < 16; ++k) y[16 * g + k] = dl * static_cast<float>(q6_at(b[i], 16 * g + k));
        }
    }
}

void deq_q8_k(const BlockQ8_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK_K)
        for (int j = 0; j < kQK_K; ++j) y[j] = b[i].d * static_cast<float>(b[i].qs[j]);
}

// ---------------------------------------------------------------- dot products

float dot_f32(const void* w, const void* a, int64_t n) {
    const float* x = static_cast<const float*>(w);
    const float* y = static_cast<const float*>(a);
    double s = 0;  // double: the reference should not carry float summation error
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * y[i];
    return static_cast<float>(s);
}

float dot_f16(const void* w, const void* a, int64_t n) {
    const uint16_t* x = static_cast<const uint16_t*>(w);
    const float* y = static_cast<const float*>(a);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(fp16_to_f32(x[i])) * y[i];
    return static_cast<float>(s);
}

float dot_bf16(const void* w, const void* a, int64_t n) {
    const uint16_t* x = static_cast<const uint16_t*>(w);
    const float* y = static_cast<const float*>(a);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(bf16_to_f32(x[i])) * y[i];
    return static_cast<float>(s);
}

int sum_q8(const int8_t* q, int k) {
    int s = 0;
    for (int j = 0; j < k; ++j) s += q[j];
    return s;
}

float dot_q4_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ4_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float acc = 0;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK / 2; ++j)
            s += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        acc += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(s);
    }
    return acc;
}

// Q4_1/Q5_1 pair with Q8_0 activations: sum(d*q + m) * dy * qy = d*dy*sum(q*qy) + m*dy*sum(qy).
float dot_q4_1(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ4_1*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float acc = 0;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK / 2; ++j)
            s += (x[i].qs[j] & 0xF) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        const float dy = h2f(y[i].d);
        acc += h2f(x[i].d) * dy * static_cast<float>(s) + h2f(x[i].m) * dy * static_cast<float>(sum_q8(y[i].qs, kQK));
    }
    return acc;
}

float dot_q5_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ5_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float acc = 0;
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i) {
        q5_values(x[i].qh, x[i].qs, q);
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += (q[j] - 16) * y[i].qs[j];
        acc += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(s);
    }
    return acc;
}

float dot_q5_1(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ5_1*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float acc = 0;
    int q[kQK];
    for (int64_t i = 0; i < n / kQK; ++i) {
        q5_values(x[i].qh, x[i].qs, q);
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += q[j] * y[i].qs[j];
        const float dy = h2f(y[i].d);
        acc += h2f(x[i].d) * dy * static_cast<float>(s) + h2f(x[i].m) * dy * static_cast<float>(sum_q8(y[i].qs, kQK));
    }
    return acc;
}

float dot_q8_0(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ8_0*>(w);
    const auto* y = static_cast<const BlockQ8_0*>(a);
    float acc = 0;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += x[i].qs[j] * y[i].qs[j];
        acc += h2f(x[i].d) * h2f(y[i].d) * static_cast<float>(s);
    }
    return acc;
}

// K-quants against Q8_K: integer sums per group, scaled once per super-block. The group
// minimums use the activation's precomputed 16-element sums.
float dot_q2_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ2_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float acc = 0;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int isum = 0, msum = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int k = 0; k < 16; ++k) s += q2_at(x[i].qs, 16 * g + k) * y[i].qs[16 * g + k];
            isum += (x[i].scales[g] & 0xF) * s;
            msum += (x[i].scales[g] >> 4) * y[i].bsums[g];
        }
        acc += y[i].d * h2f(x[i].d) * static_cast<float>(isum) - y[i].d * h2f(x[i].dmin) * static_cast<float>(msum);
    }
    return acc;
}

float dot_q3_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ3_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float acc = 0;
    int8_t sc[16];
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        q3k_scales(x[i].scales, sc);
        int isum = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int k = 0; k < 16; ++k) s += q3_at(x[i], 16 * g + k) * y[i].qs[16 * g + k];
            isum += sc[g] * s;
        }
        acc += y[i].d * h2f(x[i].d) * static_cast<float>(isum);
    }
    return acc;
}

float dot_q4_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ4_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float acc = 0;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int isum = 0, msum = 0;
        for (int g = 0; g < 8; ++g) {
            uint8_t sc, m;
            k4_scale_min(g, x[i].scales, sc, m);
            int s = 0;
            for (int l = 0; l < 32; ++l) s += q4k_at(x[i].qs, 32 * g + l) * y[i].qs[32 * g + l];
            isum += sc * s;
            msum += m * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        }
        acc += y[i].d * h2f(x[i].d) * static_cast<float>(isum) - y[i].d * h2f(x[i].dmin) * static_cast<float>(msum);
    }
    return acc;
}

float dot_q5_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ5_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float acc = 0;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int isum = 0, msum = 0;
        for (int g = 0; g < 8; ++g) {
            uint8_t sc, m;
            k4_scale_min(g, x[i].scales, sc, m);
            int s = 0;
            for (int l = 0; l < 32; ++l) s += q5k_at(x[i], 32 * g + l) * y[i].qs[32 * g + l];
            isum += sc * s;
            msum += m * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        }
        acc += y[i].d * h2f(x[i].d) * static_cast<float>(isum) - y[i].d * h2f(x[i].dmin) * static_cast<float>(msum);
    }
    return acc;
}

float dot_q6_k(const void* w, const void* a, int64_t n) {
    const auto* x = static_cast<const BlockQ6_K*>(w);
    const auto* y = static_cast<const BlockQ8_K*>(a);
    float acc = 0;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int isum = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int k = 0; k < 16; ++k) s += q6_at(x[i], 16 * g + k) * y[i].qs[16 * g + k];
            isum += x[i].scales[g] * s;
        }
        acc += y[i].d * h2f(x[i].d) * static_cast<float>(isum);
    }
    return acc;
}

// Round half away from zero, as C's roundf (and gguf's np_roundf) do.
int round_away(float v) { return static_cast<int>(std::roundf(v)); }

}  // namespace

// ---------------------------------------------------------------- quantization

void quantize_row_q8_0(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        float amax = 0;
        for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(round_away(x[j] * id));
    }
}

void quantize_row_q4_0(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ4_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
        // The signed value of largest magnitude (first one on ties) maps to -8.
        float amax = 0, vmax = 0;
        for (int j = 0; j < kQK; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                vmax = x[j];
            }
        }
        const float d = vmax / -8.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        auto q = [&](float v) {
            const int t = static_cast<int>(v * id + 8.5f);  // truncation, as ggml
            return static_cast<uint8_t>(t > 15 ? 15 : t);
        };
        for (int j = 0; j < kQK / 2; ++j) y[i].qs[j] = static_cast<uint8_t>(q(x[j]) | (q(x[j + 16]) << 4));
    }
}

void quantize_row_q8_k(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
        float amax = 0, vmax = 0;
        for (int j = 0; j < kQK_K; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                vmax = x[j];
            }
        }
        if (amax == 0) {
            std::memset(&y[i], 0, sizeof(BlockQ8_K));
            continue;
        }
        // Scale so the extreme value maps to -127: every quant stays in [-127, 127],
        // which keeps the SIMD byte products free of saturation.
        const float iscale = -127.0f / vmax;
        for (int j = 0; j < kQK_K; ++j) {
            const int v = static_cast<int>(std::nearbyint(iscale * x[j]));
            y[i].qs[j] = static_cast<int8_t>(v > 127 ? 127 : (v < -127 ? -127 : v));
        }
        for (int g = 0; g < kQK_K / 16; ++g) y[i].bsums[g] = static_cast<int16_t>(sum_q8(y[i].qs + 16 * g, 16));
        y[i].d = 1.0f / iscale;
    }
}

void dequantize_row_ref(DType t, const void* src, float* dst, int64_t n) {
    const int64_t nb32 = n / kQK, nb256 = n / kQK_K;
    switch (t) {
        case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
        case DType::F16: {
            const auto* s = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(s[i]);
            return;
        }
        case DType::BF16: {
            const auto* s = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
            return;
        }
        case DType::Q4_0: deq_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb32); return;
        case DType::Q4_1: deq_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb32); return;
        case DType::Q5_0: deq_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb32); return;
        case DType::Q5_1: deq_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb32); return;
        case DType::Q8_0: deq_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb32); return;
        case DType::Q2_K: deq_q2_k(static_cast<const BlockQ2_K*>(src), dst, nb256); return;
        case DType::Q3_K: deq_q3_k(static_cast<const BlockQ3_K*>(src), dst, nb256); return;
        case DType::Q4_K: deq_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb256); return;
        case DType::Q5_K: deq_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb256); return;
        case DType::Q6_K: deq_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb256); return;
        case DType::Q8_K: deq_q8_k(static_cast<const BlockQ8_K*>(src), dst, nb256); return;
        default: break;
    }
    throw Error("cannot dequantize tensor type " + std::string(dtype_name(t)) + ": not supported by hearth");
}

const DotKernels& scalar_kernels() {
    static const DotKernels k{dot_f32,  dot_f16,  dot_bf16, dot_q4_0, dot_q4_1, dot_q5_0, dot_q5_1,
                              dot_q8_0, dot_q2_k, dot_q3_k, dot_q4_k, dot_q5_k, dot_q6_k};
    return k;
}

}  // namespace hearth::quant
