#include "audit/stats.h"

#include <algorithm>
#include <cmath>

namespace hearth::audit {

Interval wilson(int64_t k, int64_t n, double z) {
    if (n <= 0) return {0, 0, 1};
    const double nn = static_cast<double>(n), p = static_cast<double>(k) / nn, z2 = z * z;
    const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
    const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
    // At k = 0 or k = n the exact bound is 0 or 1; rounding must not leave it a hair off.
    return {p, k == 0 ? 0.0 : std::max(0.0, centre - half), k == n ? 1.0 : std::min(1.0, centre + half)};
}

Interval newcombe_diff(int64_t k1, int64_t n1, int64_t k2, int64_t n2, double z) {
    const Interval a = wilson(k1, n1, z), b = wilson(k2, n2, z);
    const double d = a.estimate - b.estimate;
    return {d, d - std::hypot(a.estimate - a.lo, b.hi - b.estimate),
            d + std::hypot(a.hi - a.estimate, b.estimate - b.lo)};
}

Interval newcombe_paired(int64_t a, int64_t b, int64_t c, int64_t d, double z) {
    const int64_t n = a + b + c + d;
    if (n <= 0) return {0, -1, 1};
    const Interval w1 = wilson(a + b, n, z), w2 = wilson(a + c, n, z);
    const double p1 = w1.estimate, p2 = w2.estimate, diff = p1 - p2;
    // Correlation of the two outcomes (phi); 0 when a margin is empty.
    const double denom = static_cast<double>(a + b) * static_cast<double>(c + d) * static_cast<double>(a + c) *
                         static_cast<double>(b + d);
    const double phi =
        denom > 0 ? (static_cast<double>(a) * static_cast<double>(d) - static_cast<double>(b) * static_cast<double>(c)) /
                        std::sqrt(denom)
                  : 0.0;
    const double dl1 = p1 - w1.lo, du1 = w1.hi - p1, dl2 = p2 - w2.lo, du2 = w2.hi - p2;
    const double lo_sq = dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2;
    const double hi_sq = du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2;
    return {diff, std::max(-1.0, diff - std::sqrt(std::max(0.0, lo_sq))),
            std::min(1.0, diff + std::sqrt(std::max(0.0, hi_sq)))};
}

double mcnemar_exact_p(int64_t b, int64_t c) {
    const int64_t n = b + c, k = std::min(b, c);
    if (n <= 0) return 1.0;
    // Binomial terms in log space: n can be in the thousands, where C(n, i) / 2^n under- or
    // overflows a double taken directly.
    const double nn = static_cast<double>(n), log_half_n = nn * std::log(0.5), lg_n1 = std::lgamma(nn + 1);
    double tail = 0;
    for (int64_t i = 0; i <= k; ++i) {
        const double ii = static_cast<double>(i);
        tail += std::exp(lg_n1 - std::lgamma(ii + 1) - std::lgamma(nn - ii + 1) + log_half_n);
    }
    return std::min(1.0, 2 * tail);
}

}  // namespace hearth::audit
