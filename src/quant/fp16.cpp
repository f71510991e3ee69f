// Portable half/bfloat16 conversions (round to nearest even, like numpy and ggml), used by
// the scalar paths; SIMD paths use F16C where available and must agree bit for bit.
#include <cmath>
#include <cstring>

#include "quant/quant.h"

namespace hearth::quant {
namespace {

uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

float float_of(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

}  // namespace

float fp16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1F;
    const uint32_t mant = h & 0x3FF;
    if (exp == 0) {
        // Subnormal (or zero): mant * 2^-24 is exact in float.
        const float v = static_cast<float>(mant) * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) return float_of(sign | 0x7F800000u | (mant << 13));
    return float_of(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_fp16(float f) {
    const uint32_t u = bits_of(f);
    const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
    const uint32_t a = u & 0x7FFFFFFF;
    if (a > 0x7F800000) return static_cast<uint16_t>(sign | 0x7E00 | ((a >> 13) & 0x3FF));  // NaN stays NaN
    if (a >= 0x47800000) return static_cast<uint16_t>(sign | 0x7C00);  // >= 65536: inf
    if (a < 0x38800000) {
        // Result is subnormal: scale to units of 2^-24 (exact) and round to nearest even.
        // 1024 units carries into the smallest normal, which the bit pattern expresses too.
        const float units = std::nearbyint(float_of(a) * 0x1p24f);
        return static_cast<uint16_t>(sign | static_cast<uint16_t>(units));
    }
    const uint32_t mant = a & 0x7FFFFF;
    uint32_t h = (((a >> 23) - 112) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // a carry may reach inf: correct
    return static_cast<uint16_t>(sign | h);
}

float bf16_to_f32(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
    const uint32_t u = bits_of(f);
    if ((u & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>((u >> 16) | 64);  // quiet NaN
    return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

}  // namespace hearth::quant
