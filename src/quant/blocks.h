#pragma once
// Byte layouts of the quantized blocks, identical to ggml's so GGUF tensor data can be used
// in place. fp16 fields are kept as raw uint16_t bits; see fp16_to_f32 in quant.h.
#include <cstdint>

namespace hearth::quant {

constexpr int kQK = 32;    // elements per block of the legacy formats
constexpr int kQK_K = 256; // elements per super-block of the K-quants

// x = d * (q - 8)
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[kQK / 2];  // element j in the low nibble of byte j, element j+16 in the high one
};
static_assert(sizeof(BlockQ4_0) == 18);

// x = d * q + m
struct BlockQ4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// x = d * (q - 16), q = nibble | (bit j of qh) << 4
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];  // little-endian 32-bit mask of the fifth bits
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34);

// 16 groups of 16: x = d * (scales & 15) * q - dmin * (scales >> 4), q 2 bits.
struct BlockQ2_K {
    uint8_t scales[kQK_K / 16];
    uint8_t qs[kQK_K / 4];  // 128-element halves; in each, element 32*s + l is bits 2s..2s+1 of qs[l]
    uint16_t d;
    uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 16 groups of 16: x = d * (scale6 - 32) * (q2 - (hmask bit ? 0 : 4)).
struct BlockQ3_K {
    uint8_t hmask[kQK_K / 8];  // element 32*b + l uses bit b of hmask[l]
    uint8_t qs[kQK_K / 4];     // same arrangement as Q2_K
    uint8_t scales[12];        // 16 six-bit scales, packed
    uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// 8 groups of 32: x = d * sc * q - dmin * m, sc/m 6-bit packed in `scales`.
struct BlockQ4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[kQK_K / 2];  // 64-element chunks: low nibbles are group 2c, high nibbles group 2c+1
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[kQK_K / 8];  // element 32*g + l uses bit g of qh[l]
    uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 16 groups of 16: x = d * scales[g] * (q6 - 32).
struct BlockQ6_K {
    uint8_t ql[kQK_K / 2];
    uint8_t qh[kQK_K / 4];
    int8_t scales[kQK_K / 16];
    uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// Activations for the K-quant dots: f32 scale, int8 quants and the sum of each 16 quants
// (lets the dots apply per-group minimums/offsets without touching the quants again).
struct BlockQ8_K {
    float d;
    int8_t qs[kQK_K];
    int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

// The six-bit scale/min pairs of Q4_K and Q5_K: j in 0..7.
inline void k4_scale_min(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// The 16 six-bit scales of Q3_K, already minus 32.
inline void q3k_scales(const uint8_t* s, int8_t out[16]) {
    for (int j = 0; j < 16; ++j) {
        const int low = (j < 8) ? (s[j] & 0xF) : (s[j - 8] >> 4);
        const int high = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        out[j] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
}

}  // namespace hearth::quant
