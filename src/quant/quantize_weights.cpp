#include "quant/quantize_weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/quant.h"

namespace hearth::quant {
namespace {

int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }
int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }
float fp16_round(float v) { return fp16_to_f32(f32_to_fp16(v)); }

// ---------------------------------------------------------------- legacy 32-element types
// Rounding as ggml's reference quantizers: truncation of v + 0.5 (or + 8.5 / + 16.5) after
// the float32 products, so the bytes match llama.cpp and gguf.quants exactly.

void q4_1_row(const float* x, BlockQ4_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < kQK; ++j) {
            lo = std::min(lo, x[j]);
            hi = std::max(hi, x[j]);
        }
        const float d = (hi - lo) / 15.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        y[i].m = f32_to_fp16(lo);
        auto q = [&](float v) { return std::min(15, static_cast<int>((v - lo) * id + 0.5f)); };
        for (int j = 0; j < kQK / 2; ++j) y[i].qs[j] = static_cast<uint8_t>(q(x[j]) | (q(x[j + 16]) << 4));
    }
}

void pack_q5(const int q[kQK], uint8_t qh[4], uint8_t qs[kQK / 2]) {
    uint32_t h = 0;
    for (int j = 0; j < kQK; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    std::memcpy(qh, &h, 4);
    for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
}

void q5_0_row(const float* x, BlockQ5_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        // The value of largest magnitude (first one on ties) maps to -16.
        float amax = 0, vmax = 0;
        for (int j = 0; j < kQK; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                vmax = x[j];
            }
        }
        const float d = vmax / -16.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        int q[kQK];
        for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>(x[j] * id + 16.5f));
        pack_q5(q, y[i].qh, y[i].qs);
    }
}

void q5_1_row(const float* x, BlockQ5_1* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < kQK; ++j) {
            lo = std::min(lo, x[j]);
            hi = std::max(hi, x[j]);
        }
        const float d = (hi - lo) / 31.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        y[i].m = f32_to_fp16(lo);
        int q[kQK];
        for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>((x[j] - lo) * id + 0.5f));
        pack_q5(q, y[i].qh, y[i].qs);
    }
}

// ---------------------------------------------------------------- K-quant search
// Importance of each element in a sub-block's fit. Larger values weigh more (they dominate
// dot products), but never zero, so small values are not thrown away entirely; this is the
// weighting llama.cpp found to work well without an importance matrix.
void element_weights(const float* x, int n, float* w) {
    float s2 = 0;
    for (int i = 0; i < n; ++i) s2 += x[i] * x[i];
    const float av = std::sqrt(s2 / static_cast<float>(n));
    for (int i = 0; i < n; ++i) w[i] = av + std::fabs(x[i]);
}

// x ~= scale * q - min with q in [0, nmax], scale >= 0, min >= 0.
struct AsymFit {
    float scale = 0, min = 0, err = std::numeric_limits<float>::infinity();
};

float asym_error(const float* x, const float* w, const int* q, int n, float scale, float min) {
    float e = 0;
    for (int i = 0; i < n; ++i) {
        const float r = scale * static_cast<float>(q[i]) - min - x[i];
        e += w[i] * r * r;
    }
    return e;
}

void asym_assign(const float* x, int n, int nmax, float scale, float min, int* q) {
    const float inv = scale > 0 ? 1.0f / scale : 0.0f;
    for (int i = 0; i < n; ++i) q[i] = clampi(nearest((x[i] + min) * inv), 0, nmax);
}

// Weighted least squares for scale and offset with the quants fixed; the offset may not be
// positive (the format stores a subtracted minimum), so it is pinned to 0 when it would be.
bool asym_solve(const float* x, const float* w, const int* q, int n, float& scale, float& min) {
    double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
        const double qi = q[i], wi = w[i];
        sw += wi;
        sq += wi * qi;
        sqq += wi * qi * qi;
        sx += wi * x[i];
        sqx += wi * qi * x[i];
    }
    const double det = sw * sqq - sq * sq;
    if (det <= 0 || sqq <= 0) return false;
    double a = (sw * sqx - sq * sx) / det;
    double b = (sqq * sx - sq * sqx) / det;
    if (b > 0) {
        b = 0;
        a = sqx / sqq;
    }
    if (!(a > 0)) return false;
    scale = static_cast<float>(a);
    min = static_cast<float>(-b);
    return true;
}

// Searches a sub-block's scale and minimum: candidate inverse scales around nmax / range,
// each followed by a least-squares fit, then alternate re-assignment and re-fit while the
// weighted error falls.
AsymFit fit_asym(const float* x, const float* w, int n, int nmax) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    lo = std::min(lo, 0.0f);
    AsymFit best;
    if (hi <= lo) {  // all equal and <= 0: the minimum alone represents them
        best.scale = 0;
        best.min = -lo;
        best.err = 0;
        return best;
    }
    int q[32];
    const float range = hi - lo;
    best.scale = range / static_cast<float>(nmax);
    best.min = -lo;
    asym_assign(x, n, nmax, best.scale, best.min, q);
    best.err = asym_error(x, w, q, n, best.scale, best.min);
    for (int k = -10; k <= 10; ++k) {
        const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(k)) / range;
        for (int i = 0; i < n; ++i) q[i] = clampi(nearest(iscale * (x[i] - lo)), 0, nmax);
        float scale, min;
        if (!asym_solve(x, w, q, n, scale, min)) continue;
        for (int it = 0; it < 4; ++it) {
            const float e = asym_error(x, w, q, n, scale, min);
            if (e < best.err) {
                best.err = e;
                best.scale = scale;
                best.min = min;
            }
            int q2[32];
            asym_assign(x, n, nmax, scale, min, q2);
            if (std::equal(q, q + n, q2)) break;
            std::copy(q2, q2 + n, q);
            if (!asym_solve(x, w, q, n, scale, min)) break;
        }
    }
    return best;
}

// x ~= scale * q with q in [-nneg, nneg - 1]; scale may be negative.
struct SymFit {
    float scale = 0, err = 0;
};

float sym_error(const float* x, const float* w, const int* q, int n, float scale) {
    float e = 0;
    for (int i = 0; i < n; ++i) {
        const float r = scale * static_cast<float>(q[i]) - x[i];
        e += w[i] * r * r;
    }
    return e;
}

void sym_assign(const float* x, int n, int nneg, float scale, int* q) {
    const float inv = scale != 0 ? 1.0f / scale : 0.0f;
    for (int i = 0; i < n; ++i) q[i] = clampi(nearest(x[i] * inv), -nneg, nneg - 1);
}

bool sym_solve(const float* x, const float* w, const int* q, int n, float& scale) {
    double sqx = 0, sqq = 0;
    for (int i = 0; i < n; ++i) {
        sqx += static_cast<double>(w[i]) * q[i] * x[i];
        sqq += static_cast<double>(w[i]) * q[i] * q[i];
    }
    if (sqq <= 0) return false;
    scale = static_cast<float>(sqx / sqq);
    return true;
}

// The symmetric search: the value of largest magnitude goes to the negative end (which has
// one more level), candidate scales around that, a least-squares fit each, then refinement.
SymFit fit_sym(const float* x, const float* w, int n, int nneg) {
    float amax = 0, vmax = 0;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            vmax = x[i];
        }
    }
    SymFit best;
    if (amax == 0) return best;
    int q[32];
    best.scale = vmax / -static_cast<float>(nneg);
    sym_assign(x, n, nneg, best.scale, q);
    best.err = sym_error(x, w, q, n, best.scale);
    for (int k = -10; k <= 10; ++k) {
        const float iscale = -(static_cast<float>(nneg) + 0.1f * static_cast<float>(k)) / vmax;
        for (int i = 0; i < n; ++i) q[i] = clampi(nearest(iscale * x[i]), -nneg, nneg - 1);
        float scale;
        if (!sym_solve(x, w, q, n, scale)) continue;
        for (int it = 0; it < 4; ++it) {
            const float e = sym_error(x, w, q, n, scale);
            if (e < best.err) {
                best.err = e;
                best.scale = scale;
            }
            int q2[32];
            sym_assign(x, n, nneg, scale, q2);
            if (std::equal(q, q + n, q2)) break;
            std::copy(q2, q2 + n, q);
            if (!sym_solve(x, w, q, n, scale)) break;
        }
    }
    return best;
}

// ---------------------------------------------------------------- Q4_K / Q5_K

// One super-block of 8 sub-blocks of 32: integer sub-block scales/minimums (6 bits) under
// two fp16 super-scales, and the quants.
struct KAsymBlock {
    float d = 0, dmin = 0;
    int ls[8] = {}, lm[8] = {};
    int q[256] = {};
};

float kasym_assign_and_error(const float* x, const float* w, int nmax, KAsymBlock& b) {
    float e = 0;
    for (int g = 0; g < 8; ++g) {
        const float dl = b.d * static_cast<float>(b.ls[g]), ml = b.dmin * static_cast<float>(b.lm[g]);
        asym_assign(x + 32 * g, 32, nmax, dl, ml, b.q + 32 * g);
        e += asym_error(x + 32 * g, w + 32 * g, b.q + 32 * g, 32, dl, ml);
    }
    return e;
}

// With every integer fixed, x ~= d * (ls*q) - dmin * lm is linear in (d, dmin): solve the
// 2x2 weighted normal equations for the pair.
bool kasym_solve_super(const float* x, const float* w, const KAsymBlock& b, float& d, float& dmin) {
    double suu = 0, suv = 0, svv = 0, sux = 0, svx = 0;
    for (int i = 0; i < 256; ++i) {
        const int g = i / 32;
        const double u = static_cast<double>(b.ls[g]) * b.q[i], v = -static_cast<double>(b.lm[g]), wi = w[i];
        suu += wi * u * u;
        suv += wi * u * v;
        svv += wi * v * v;
        sux += wi * u * x[i];
        svx += wi * v * x[i];
    }
    const double det = suu * svv - suv * suv;
    if (svv == 0) {  // no minimums in use: a one-parameter fit
        if (suu <= 0) return false;
        d = static_cast<float>(sux / suu);
        dmin = 0;
        return d > 0;
    }
    if (det <= 1e-12 * suu * svv) return false;
    d = static_cast<float>((sux * svv - svx * suv) / det);
    dmin = static_cast<float>((suu * svx - suv * sux) / det);
    return d > 0 && dmin >= 0;
}

void quantize_kasym_block(const float* x, int nmax, bool naive, KAsymBlock& b) {
    float w[256];
    float scales[8], mins[8];
    for (int g = 0; g < 8; ++g) {
        element_weights(x + 32 * g, 32, w + 32 * g);
        if (naive) {
            float lo = x[32 * g], hi = x[32 * g];
            for (int l = 1; l < 32; ++l) {
                lo = std::min(lo, x[32 * g + l]);
                hi = std::max(hi, x[32 * g + l]);
            }
            lo = std::min(lo, 0.0f);
            scales[g] = hi > lo ? (hi - lo) / static_cast<float>(nmax) : 0.0f;
            mins[g] = -lo;
        } else {
            const AsymFit f = fit_asym(x + 32 * g, w + 32 * g, 32, nmax);
            scales[g] = f.scale;
            mins[g] = f.min;
        }
    }
    const float max_scale = *std::max_element(scales, scales + 8);
    const float max_min = *std::max_element(mins, mins + 8);
    b.d = fp16_round(max_scale / 63.0f);
    b.dmin = fp16_round(max_min / 63.0f);
    for (int g = 0; g < 8; ++g) {
        b.ls[g] = b.d > 0 ? clampi(nearest(scales[g] / b.d), 0, 63) : 0;
        b.lm[g] = b.dmin > 0 ? clampi(nearest(mins[g] / b.dmin), 0, 63) : 0;
    }
    float err = kasym_assign_and_error(x, w, nmax, b);
    if (naive) return;
    // The integer scales are fixed now; re-fit the two fp16 super-scales to the quants, and
    // keep the result only while it lowers the error once rounded to fp16.
    for (int it = 0; it < 3; ++it) {
        float d, dmin;
        if (!kasym_solve_super(x, w, b, d, dmin)) break;
        KAsymBlock t = b;
        t.d = fp16_round(d);
        t.dmin = fp16_round(dmin);
        if (!std::isfinite(t.d) || !std::isfinite(t.dmin)) break;
        const float e = kasym_assign_and_error(x, w, nmax, t);
        if (!(e < err)) break;
        err = e;
        b = t;
    }
}

void pack_k_scales(const int ls[8], const int lm[8], uint8_t s[12]) {
    std::memset(s, 0, 12);
    for (int j = 0; j < 4; ++j) {
        s[j] = static_cast<uint8_t>(ls[j] & 63);
        s[j + 4] = static_cast<uint8_t>(lm[j] & 63);
    }
    for (int j = 4; j < 8; ++j) {
        s[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
        s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
        s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
}

void q4_k_row(const float* x, BlockQ4_K* y, int64_t nb, bool naive) {
    KAsymBlock b;
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        quantize_kasym_block(x, 15, naive, b);
        y[i].d = f32_to_fp16(b.d);
        y[i].dmin = f32_to_fp16(b.dmin);
        pack_k_scales(b.ls, b.lm, y[i].scales);
        // Bytes 32c..32c+31 hold group 2c in the low nibbles and group 2c+1 in the high ones.
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                y[i].qs[32 * c + l] = static_cast<uint8_t>(b.q[64 * c + l] | (b.q[64 * c + 32 + l] << 4));
    }
}

void q5_k_row(const float* x, BlockQ5_K* y, int64_t nb, bool naive) {
    KAsymBlock b;
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        quantize_kasym_block(x, 31, naive, b);
        y[i].d = f32_to_fp16(b.d);
        y[i].dmin = f32_to_fp16(b.dmin);
        pack_k_scales(b.ls, b.lm, y[i].scales);
        std::memset(y[i].qh, 0, sizeof y[i].qh);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) {
                const int lo = b.q[64 * c + l], hi = b.q[64 * c + 32 + l];
                y[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            }
        for (int e = 0; e < kQK_K; ++e) y[i].qh[e % 32] |= static_cast<uint8_t>(((b.q[e] >> 4) & 1) << (e / 32));
    }
}

// ---------------------------------------------------------------- Q6_K

struct KSymBlock {
    float d = 0;
    int ls[16] = {};
    int q[256] = {};
};

float ksym_assign_and_error(const float* x, const float* w, KSymBlock& b) {
    float e = 0;
    for (int g = 0; g < 16; ++g) {
        const float dl = b.d * static_cast<float>(b.ls[g]);
        sym_assign(x + 16 * g, 16, 32, dl, b.q + 16 * g);
        e += sym_error(x + 16 * g, w + 16 * g, b.q + 16 * g, 16, dl);
    }
    return e;
}

void quantize_q6_k_block(const float* x, bool naive, KSymBlock& b) {
    float w[256];
    float scales[16];
    for (int g = 0; g < 16; ++g) {
        element_weights(x + 16 * g, 16, w + 16 * g);
        if (naive) {
            float amax = 0, vmax = 0;
            for (int l = 0; l < 16; ++l) {
                if (std::fabs(x[16 * g + l]) > amax) {
                    amax = std::fabs(x[16 * g + l]);
                    vmax = x[16 * g + l];
                }
            }
            scales[g] = vmax / -32.0f;
        } else {
            scales[g] = fit_sym(x + 16 * g, w + 16 * g, 16, 32).scale;
        }
    }
    // The sub-block scale of largest magnitude maps to -128, the end with one more level.
    float amax = 0, smax = 0;
    for (float s : scales) {
        if (std::fabs(s) > amax) {
            amax = std::fabs(s);
            smax = s;
        }
    }
    b.d = fp16_round(smax / -128.0f);
    for (int g = 0; g < 16; ++g) b.ls[g] = b.d != 0 ? clampi(nearest(scales[g] / b.d), -128, 127) : 0;
    float err = ksym_assign_and_error(x, w, b);
    if (naive) return;
    for (int it = 0; it < 3; ++it) {
        double suu = 0, sux = 0;
        for (int i = 0; i < 256; ++i) {
            const double u = static_cast<double>(b.ls[i / 16]) * b.q[i];
            suu += w[i] * u * u;
            sux += w[i] * u * x[i];
        }
        if (suu <= 0) break;
        KSymBlock t = b;
        t.d = fp16_round(static_cast<float>(sux / suu));
        if (!std::isfinite(t.d) || t.d == 0) break;
        const float e = ksym_assign_and_error(x, w, t);
        if (!(e < err)) break;
        err = e;
        b = t;
    }
}

void q6_k_row(const float* x, BlockQ6_K* y, int64_t nb, bool naive) {
    KSymBlock b;
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        quantize_q6_k_block(x, naive, b);
        y[i].d = f32_to_fp16(b.d);
        for (int g = 0; g < 16; ++g) y[i].scales[g] = static_cast<int8_t>(b.ls[g]);
        std::memset(y[i].ql, 0, sizeof y[i].ql);
        std::memset(y[i].qh, 0, sizeof y[i].qh);
        // Element e = 128h + 32s + l: low nibble in ql[64h + 32(s&1) + l] (high nibble when
        // s >= 2), top two bits at bits 2s of qh[32h + l].
        for (int e = 0; e < kQK_K; ++e) {
            const int u = b.q[e] + 32;
            const int h = e / 128, s = (e % 128) / 32, l = e % 32;
            y[i].ql[64 * h + 32 * (s & 1) + l] |= static_cast<uint8_t>((u & 0xF) << (s < 2 ? 0 : 4));
            y[i].qh[32 * h + l] |= static_cast<uint8_t>((u >> 4) << (2 * s));
        }
    }
}

// ---------------------------------------------------------------- checks

void check_input(DType t, const float* x, int64_t n) {
    if (!weight_quant_supported(t)) {
        if (!dtype_known(static_cast<uint32_t>(t)))
            throw Error("quantize: unknown tensor type id " + std::to_string(static_cast<uint32_t>(t)));
        throw Error("quantize: cannot quantize weights to " + std::string(dtype_name(t)) +
                    " (supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K)");
    }
    const DTypeInfo& info = dtype_info(t);
    if (n <= 0 || n % info.block_elems != 0)
        throw Error("quantize: row length " + std::to_string(n) + " is not a multiple of the " +
                    std::string(info.name) + " block size " + std::to_string(info.block_elems));
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i]))
            throw Error("element " + std::to_string(i) + " of the row is " + (std::isnan(x[i]) ? "NaN" : "infinite") +
                        "; refusing to quantize non-finite weights");
    }
}

// A finite input can still overflow an fp16 scale (or F16 itself): dequantize and look, so
// no file ever carries an inf that the source did not have.
void check_output(DType t, const void* dst, int64_t n) {
    std::vector<float> back(static_cast<size_t>(n));
    dequantize_row_ref(t, dst, back.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(back[i]))
            throw Error("element " + std::to_string(i) + " of the row is too large for " + std::string(dtype_name(t)) +
                        " (its scales are fp16, max 65504); keep this tensor in F32 or BF16");
    }
}

void quantize_impl(DType t, const float* x, void* dst, int64_t n, bool naive) {
    check_input(t, x, n);
    const int64_t nb32 = n / kQK, nb256 = n / kQK_K;
    switch (t) {
        case DType::F32: std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float)); return;
        case DType::F16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_fp16(x[i]);
            break;
        }
        case DType::BF16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(x[i]);
            break;
        }
        // The scalar references, not the dispatched activation quantizer: weights must be
        // the same bytes on every machine.
        case DType::Q8_0: quantize_row_q8_0(x, dst, n); break;
        case DType::Q4_0: quantize_row_q4_0(x, dst, n); break;
        case DType::Q4_1: q4_1_row(x, static_cast<BlockQ4_1*>(dst), nb32); break;
        case DType::Q5_0: q5_0_row(x, static_cast<BlockQ5_0*>(dst), nb32); break;
        case DType::Q5_1: q5_1_row(x, static_cast<BlockQ5_1*>(dst), nb32); break;
        case DType::Q4_K: q4_k_row(x, static_cast<BlockQ4_K*>(dst), nb256, naive); break;
        case DType::Q5_K: q5_k_row(x, static_cast<BlockQ5_K*>(dst), nb256, naive); break;
        case DType::Q6_K: q6_k_row(x, static_cast<BlockQ6_K*>(dst), nb256, naive); break;
        default: throw Error("quantize: unreachable type " + std::string(dtype_name(t)));
    }
    check_output(t, dst, n);
}

}  // namespace

bool weight_quant_supported(DType t) {
    switch (t) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K: return true;
        default: return false;
    }
}

void quantize_weight_row(DType t, const float* src, void* dst, int64_t n) { quantize_impl(t, src, dst, n, false); }

void quantize_weight_row_naive(DType t, const float* src, void* dst, int64_t n) {
    quantize_impl(t, src, dst, n, true);
}

}  // namespace hearth::quant
