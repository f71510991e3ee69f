#!/usr/bin/env python3
# Reference values for src/audit/stats.cpp (tests/unit/test_audit_stats.cpp), from statsmodels
# (pinned in tools/requirements-audit.txt):
#   Wilson:            statsmodels.stats.proportion.proportion_confint(method="wilson")
#   Newcombe unpaired: statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")
#   Newcombe paired:   statsmodels has none; written out here from Newcombe (1998), "Improved
#                      confidence intervals for the difference between binomial proportions
#                      based on paired data", Stat Med 17:2635, method 10, with Wilson limits
#                      from statsmodels. Where a*d == b*c (no correlation) it must equal the
#                      unpaired interval of statsmodels, which the script checks.
# Usage: python3 tools/gen_audit_stats.py > tests/fixtures/audit/stats_reference.json
import json
import math

from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

Z = 1.959963984540054


def paired(a, b, c, d):
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = proportion_confint(a + b, n, alpha=0.05, method="wilson")
    l2, u2 = proportion_confint(a + c, n, alpha=0.05, method="wilson")
    den = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(den) if den > 0 else 0.0
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return p1 - p2, max(-1.0, p1 - p2 - dl), min(1.0, p1 - p2 + du)


def main():
    for a, b, c, d in [(4, 2, 6, 3), (2, 8, 1, 4)]:
        n = a + b + c + d
        _, lo, hi = paired(a, b, c, d)
        ref = confint_proportions_2indep(a + b, n, a + c, n, method="newcomb", compare="diff")
        assert abs(lo - ref[0]) < 1e-12 and abs(hi - ref[1]) < 1e-12, (lo, hi, ref)
    out = {"wilson": [], "newcombe_diff": [], "newcombe_paired": []}
    for k, n in [(0, 10), (1, 10), (5, 10), (10, 10), (3, 17), (81, 263), (0, 1), (1, 1), (50, 50), (7, 300)]:
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        out["wilson"].append({"k": k, "n": n, "lo": lo, "hi": hi})
    for k1, n1, k2, n2 in [(56, 70, 48, 80), (9, 10, 3, 10), (0, 10, 0, 20), (10, 10, 0, 10), (5, 56, 0, 29),
                           (30, 150, 12, 150), (6, 7, 2, 7)]:
        diff, (lo, hi) = k1 / n1 - k2 / n2, confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        out["newcombe_diff"].append({"k1": k1, "n1": n1, "k2": k2, "n2": n2, "diff": diff, "lo": lo, "hi": hi})
    for a, b, c, d in [(12, 9, 2, 1), (10, 0, 0, 10), (5, 10, 2, 33), (0, 3, 0, 47), (20, 5, 8, 17), (1, 0, 0, 0), (4, 2, 6, 3)]:
        diff, lo, hi = paired(a, b, c, d)
        out["newcombe_paired"].append({"a": a, "b": b, "c": c, "d": d, "diff": diff, "lo": lo, "hi": hi})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
