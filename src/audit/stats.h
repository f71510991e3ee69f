#pragma once
// Interval estimates for the audit's rates: Wilson score intervals for one proportion and
// Newcombe's hybrid score intervals (method 10 of Newcombe 1998, no continuity correction) for
// the difference of two, unpaired or paired. Reference values come from statsmodels
// (tools/gen_audit_stats.py); tests/unit/test_audit_stats.cpp holds these to them.
#include <cstdint>

namespace hearth::audit {

struct Interval {
    double estimate = 0, lo = 0, hi = 0;
    // An interval for a difference that does not contain 0.
    bool excludes_zero() const { return lo > 0 || hi < 0; }
};

// 1.959963984540054: the two-sided 95% normal quantile.
constexpr double kZ95 = 1.959963984540054;

// k successes out of n; n = 0 gives [0, 1] around 0.
Interval wilson(int64_t k, int64_t n, double z = kZ95);

// p1 - p2 for independent samples (k1 of n1, k2 of n2).
Interval newcombe_diff(int64_t k1, int64_t n1, int64_t k2, int64_t n2, double z = kZ95);

// p1 - p2 for paired binary outcomes: both (a), first only (b), second only (c), neither (d),
// so p1 = (a+b)/n and p2 = (a+c)/n.
Interval newcombe_paired(int64_t a, int64_t b, int64_t c, int64_t d, double z = kZ95);

// McNemar's exact test for paired binary outcomes: the two-sided p-value of b against c, the
// discordant pairs (first only, second only), under Binomial(b + c, 1/2):
// min(1, 2 * P(X <= min(b, c))); 1 when there are none. Reference values from statsmodels'
// mcnemar(exact=True) and scipy's binomtest (tools/gen_shadow_references.py).
double mcnemar_exact_p(int64_t b, int64_t c);

}  // namespace hearth::audit
