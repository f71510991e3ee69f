#pragma once
// Element types of tensors, numbered as in the GGUF format (ggml_type), so a value read
// from a file can be cast directly after range checking with dtype_known().
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hearth {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
};

struct DTypeInfo {
    std::string_view name;
    uint32_t block_elems;  // elements per block (1 for plain types)
    uint32_t block_bytes;  // bytes per block
    bool supported;        // hearth can dequantize it
};

// False for ids that are not a ggml type at all (gaps and values past the table).
bool dtype_known(uint32_t id);
const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) { return dtype_info(t).name; }

// Bytes for a row of n elements; n must be a multiple of block_elems (checked by callers
// that read files; see format/gguf.cpp).
inline size_t dtype_row_bytes(DType t, int64_t n) {
    const DTypeInfo& i = dtype_info(t);
    return static_cast<size_t>(n / i.block_elems) * i.block_bytes;
}

}  // namespace hearth
