#!/usr/bin/env python3
# Reference values for hearth's shadow evaluation (tests/unit/test_shadow.cpp):
#   mcnemar:  the exact McNemar p-value of discordant counts (b, c), from statsmodels'
#             mcnemar(exact=True) and checked against scipy's binomtest(min(b, c), b + c, 0.5)
#             (src/audit/stats.cpp mcnemar_exact_p);
#   sampling: u = first 8 bytes of SHA-256("<seed>:<request_sha256>") / 2^64 with Python's
#             hashlib (src/server/shadow.cpp shadow_draw), for a few request bodies.
# Pinned in tools/requirements-audit.txt.
# Usage: python3 tools/gen_shadow_references.py > tests/fixtures/audit/shadow_reference.json
import hashlib
import json

from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar


def main():
    out = {"mcnemar": [], "sampling": []}
    for b, c in [(0, 0), (0, 1), (1, 0), (0, 5), (5, 5), (2, 9), (9, 2), (3, 12), (10, 25), (40, 60), (0, 20),
                 (7, 8), (120, 160), (700, 800)]:
        p = mcnemar([[0, b], [c, 0]], exact=True).pvalue
        if b + c > 0:
            q = binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
            assert abs(p - q) <= 1e-12 * max(1.0, p), (b, c, p, q)
        out["mcnemar"].append({"b": b, "c": c, "p": p})
    bodies = ['{"model":"coder","messages":[{"role":"user","content":"hi"}]}', "", "x" * 1000,
              '{"model":"coder","messages":[{"role":"user","content":"2+2?"}],"seed":7}']
    for seed in [0, 1, 42, 2**63 - 1]:
        for body in bodies:
            req = hashlib.sha256(body.encode()).hexdigest()
            u = int(hashlib.sha256(f"{seed}:{req}".encode()).hexdigest()[:16], 16) / 2**64
            out["sampling"].append({"seed": seed, "request_sha256": req, "u": u})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
