#include "core/units.h"

#include <cstdio>

namespace hearth {
namespace {

std::string scaled(double n, double step, const char* const* units, const char* fmt_small, const char* fmt) {
    int u = 0;
    while (n >= step && u < 4) {
        n /= step;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? fmt : fmt_small, n, units[u]);
    return buf;
}

}  // namespace

std::string human_count(double n) {
    static const char* const units[] = {"", "K", "M", "B", "T"};
    return scaled(n, 1000.0, units, "%.0f%s", "%.2f%s");
}

std::string human_bytes(double n) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    return scaled(n, 1024.0, units, "%.2f %s", "%.2f %s");
}

}  // namespace hearth
