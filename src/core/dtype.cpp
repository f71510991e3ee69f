#include "core/dtype.h"

#include <array>

namespace hearth {
namespace {

constexpr size_t kTableSize = 40;

constexpr std::array<DTypeInfo, kTableSize> make_table() {
    std::array<DTypeInfo, kTableSize> t{};
    for (auto& e : t) e = {"", 0, 0, false};
    auto set = [&](DType d, std::string_view n, uint32_t be, uint32_t bb, bool s) {
        t[static_cast<size_t>(d)] = {n, be, bb, s};
    };
    set(DType::F32, "F32", 1, 4, true);
    set(DType::F16, "F16", 1, 2, true);
    set(DType::Q4_0, "Q4_0", 32, 18, true);
    set(DType::Q4_1, "Q4_1", 32, 20, true);
    set(DType::Q5_0, "Q5_0", 32, 22, true);
    set(DType::Q5_1, "Q5_1", 32, 24, true);
    set(DType::Q8_0, "Q8_0", 32, 34, true);
    set(DType::Q8_1, "Q8_1", 32, 36, false);
    set(DType::Q2_K, "Q2_K", 256, 84, true);
    set(DType::Q3_K, "Q3_K", 256, 110, true);
    set(DType::Q4_K, "Q4_K", 256, 144, true);
    set(DType::Q5_K, "Q5_K", 256, 176, true);
    set(DType::Q6_K, "Q6_K", 256, 210, true);
    set(DType::Q8_K, "Q8_K", 256, 292, false);
    set(DType::IQ2_XXS, "IQ2_XXS", 256, 66, false);
    set(DType::IQ2_XS, "IQ2_XS", 256, 74, false);
    set(DType::IQ3_XXS, "IQ3_XXS", 256, 98, false);
    set(DType::IQ1_S, "IQ1_S", 256, 50, false);
    set(DType::IQ4_NL, "IQ4_NL", 32, 18, false);
    set(DType::IQ3_S, "IQ3_S", 256, 110, false);
    set(DType::IQ2_S, "IQ2_S", 256, 82, false);
    set(DType::IQ4_XS, "IQ4_XS", 256, 136, false);
    set(DType::I8, "I8", 1, 1, false);
    set(DType::I16, "I16", 1, 2, false);
    set(DType::I32, "I32", 1, 4, false);
    set(DType::I64, "I64", 1, 8, false);
    set(DType::F64, "F64", 1, 8, false);
    set(DType::IQ1_M, "IQ1_M", 256, 56, false);
    set(DType::BF16, "BF16", 1, 2, true);
    set(DType::TQ1_0, "TQ1_0", 256, 54, false);
    set(DType::TQ2_0, "TQ2_0", 256, 66, false);
    return t;
}

constexpr auto kTable = make_table();

}  // namespace

bool dtype_known(uint32_t id) { return id < kTableSize && kTable[id].block_elems != 0; }

const DTypeInfo& dtype_info(DType t) { return kTable[static_cast<size_t>(t)]; }

}  // namespace hearth
