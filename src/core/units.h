#pragma once
// Human-readable counts and sizes for reports ("630.17M", "468.64 MiB").
#include <string>

namespace hearth {

std::string human_count(double n);  // decimal: K, M, B, T
std::string human_bytes(double n);  // binary: KiB, MiB, GiB, TiB

}  // namespace hearth
