// Public entry points: argument checks, and the choice of kernel set for this CPU.
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <atomic>
#include <string>

#include "core/error.h"
#include "quant/kernels.h"
#include "quant/quant.h"

namespace hearth::quant {
namespace {

enum class Level { Scalar, Avx2, Avx512 };

#if defined(__x86_64__) || defined(__i386__)
// clang does not know "f16c" as a __builtin_cpu_supports feature, so ask cpuid directly
// (leaf 1, ECX bit 29).
bool has_f16c() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    return (c & (1u << 29)) != 0;
}
#endif

Level detect() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        return Level::Avx512;
    if (avx2) return Level::Avx2;
#endif
    return Level::Scalar;
}

const Level kDetected = detect();
std::atomic<bool> g_force_scalar{false};

Level level() { return g_force_scalar.load(std::memory_order_relaxed) ? Level::Scalar : kDetected; }

const DotKernels& kernels() {
    switch (level()) {
        case Level::Avx512: return avx512_kernels();
        case Level::Avx2: return avx2_kernels();
        default: return scalar_kernels();
    }
}

[[noreturn]] void unsupported(const char* what, DType t) {
    throw Error(std::string(what) + ": tensor type " + std::string(dtype_name(t)) + " is not supported");
}

void check_multiple(DType t, int64_t n) {
    const uint32_t be = dtype_info(t).block_elems;
    if (n < 0 || be == 0 || n % be != 0)
        throw Error("row of " + std::to_string(n) + " elements is not a whole number of " +
                    std::string(dtype_name(t)) + " blocks (" + std::to_string(be) + " elements each)");
}

}  // namespace

VecDotFn pick(const DotKernels& k, DType w) {
    switch (w) {
        case DType::F32: return k.f32;
        case DType::F16: return k.f16;
        case DType::BF16: return k.bf16;
        case DType::Q4_0: return k.q4_0;
        case DType::Q4_1: return k.q4_1;
        case DType::Q5_0: return k.q5_0;
        case DType::Q5_1: return k.q5_1;
        case DType::Q8_0: return k.q8_0;
        case DType::Q2_K: return k.q2_k;
        case DType::Q3_K: return k.q3_k;
        case DType::Q4_K: return k.q4_k;
        case DType::Q5_K: return k.q5_k;
        case DType::Q6_K: return k.q6_k;
        default: return nullptr;
    }
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
    if (!dtype_known(static_cast<uint32_t>(t))) throw Error("dequantize: unknown tensor type id " + std::to_string(static_cast<uint32_t>(t)));
    check_multiple(t, n);
    dequantize_row_ref(t, src, dst, n);
}

DType vec_dot_type(DType weight) {
    switch (weight) {
        case DType::F32:
        case DType::F16:
        case DType::BF16: return DType::F32;
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0: return DType::Q8_0;
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K: return DType::Q8_K;
        default: break;
    }
    if (!dtype_known(static_cast<uint32_t>(weight))) throw Error("vec_dot: unknown tensor type id " + std::to_string(static_cast<uint32_t>(weight)));
    unsupported("matrix-vector product", weight);
}

bool quantize_row_supported(DType t) {
    return t == DType::F32 || t == DType::Q8_0 || t == DType::Q8_K || t == DType::Q4_0 || t == DType::F16 || t == DType::BF16;
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
    if (!dtype_known(static_cast<uint32_t>(t)) || !quantize_row_supported(t)) {
        if (!dtype_known(static_cast<uint32_t>(t))) throw Error("quantize: unknown tensor type id " + std::to_string(static_cast<uint32_t>(t)));
        unsupported("quantize", t);
    }
    check_multiple(t, n);
    switch (t) {
        case DType::F32: std::copy(src, src + n, static_cast<float*>(dst)); return;
        case DType::F16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_fp16(src[i]);
            return;
        }
        case DType::BF16: {
            auto* d = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
            return;
        }
        case DType::Q8_0:
            if (level() == Level::Avx512) quantize_row_q8_0_avx512(src, dst, n);
            else quantize_row_q8_0(src, dst, n);
            return;
        case DType::Q8_K:
            if (level() == Level::Avx512) quantize_row_q8_k_avx512(src, dst, n);
            else quantize_row_q8_k(src, dst, n);
            return;
        case DType::Q4_0: quantize_row_q4_0(src, dst, n); return;
        default: unsupported("quantize", t);
    }
}

VecDotFn vec_dot_fn(DType w) {
    VecDotFn f = pick(kernels(), w);
    if (!f) f = pick(scalar_kernels(), w);
    if (!f) {
        vec_dot_type(w);  // throws with the right message
        unsupported("matrix-vector product", w);
    }
    return f;
}

GemmFn pick_gemm(const GemmKernels& k, DType w) {
    switch (w) {
        case DType::Q4_0: return k.q4_0;
        case DType::Q5_0: return k.q5_0;
        case DType::Q8_0: return k.q8_0;
        case DType::Q4_K: return k.q4_k;
        case DType::Q6_K: return k.q6_k;
        default: return nullptr;
    }
}

GemmFn gemm_fn(DType w) {
    switch (level()) {
        case Level::Avx512: return pick_gemm(avx512_gemm_kernels(), w);
        case Level::Avx2: return pick_gemm(avx2_gemm_kernels(), w);
        default: return pick_gemm(scalar_gemm_kernels(), w);
    }
}

GemmFn prefill_gemm_fn(DType w) {
    if (level() == Level::Avx512) return pick_gemm(avx512_prefill_gemm_kernels(), w);
    return gemm_fn(w);
}

float vec_dot(DType w, const void* wrow, const void* act, int64_t n) {
    // The hot path: validation is limited to what the caller cannot have checked once.
    return vec_dot_fn(w)(wrow, act, n);
}

const char* simd_level() {
    switch (level()) {
        case Level::Avx512: return "avx512";
        case Level::Avx2: return "avx2";
        default: return "scalar";
    }
}

void force_scalar(bool on) { g_force_scalar.store(on, std::memory_order_relaxed); }

}  // namespace hearth::quant
