#pragma once
// Shared by the AVX2 kernels (dot_avx2.cpp, gemm_avx2.cpp): the target attribute and small
// helpers. The library is built for baseline x86-64; every function using these carries
// HEARTH_AVX2 and is reached only after the CPU check in dispatch.cpp.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#define HEARTH_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace hearth::quant::avx2 {

HEARTH_AVX2 inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

HEARTH_AVX2 inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

HEARTH_AVX2 inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

HEARTH_AVX2 inline __m256i bytes(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// 0xFF in byte j where bit j of `bits` is set.
HEARTH_AVX2 inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i sel = _mm256_set1_epi64x(0x8040201008040201LL);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);
}

// The 32 nibbles of a 16-byte block, low nibbles first (elements 0..15, then 16..31).
HEARTH_AVX2 inline __m256i nibbles(const uint8_t* qs) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), bytes(0xF));
}

}  // namespace hearth::quant::avx2
#endif
