// Wilson and Newcombe intervals against statsmodels (tests/fixtures/audit/stats_reference.json,
// made by tools/gen_audit_stats.py).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "audit/stats.h"

using namespace hearth::audit;

namespace {

nlohmann::json reference() {
    std::ifstream in(std::string(HEARTH_FIXTURES) + "/audit/stats_reference.json");
    return nlohmann::json::parse(in);
}

}  // namespace

TEST(AuditStats, WilsonMatchesStatsmodels) {
    const auto ref = reference();
    ASSERT_GE(ref["wilson"].size(), 5u);
    for (const auto& r : ref["wilson"]) {
        const Interval w = wilson(r["k"].get<int64_t>(), r["n"].get<int64_t>());
        SCOPED_TRACE(r.dump());
        EXPECT_NEAR(w.lo, r["lo"].get<double>(), 1e-12);
        EXPECT_NEAR(w.hi, r["hi"].get<double>(), 1e-12);
        EXPECT_DOUBLE_EQ(w.estimate, r["k"].get<double>() / r["n"].get<double>());
    }
}

TEST(AuditStats, NewcombeDifferenceMatchesStatsmodels) {
    const auto ref = reference();
    ASSERT_GE(ref["newcombe_diff"].size(), 5u);
    for (const auto& r : ref["newcombe_diff"]) {
        const Interval d = newcombe_diff(r["k1"].get<int64_t>(), r["n1"].get<int64_t>(), r["k2"].get<int64_t>(),
                                         r["n2"].get<int64_t>());
        SCOPED_TRACE(r.dump());
        EXPECT_NEAR(d.estimate, r["diff"].get<double>(), 1e-12);
        EXPECT_NEAR(d.lo, r["lo"].get<double>(), 1e-12);
        EXPECT_NEAR(d.hi, r["hi"].get<double>(), 1e-12);
    }
}

TEST(AuditStats, NewcombePairedMatchesReference) {
    const auto ref = reference();
    ASSERT_GE(ref["newcombe_paired"].size(), 5u);
    for (const auto& r : ref["newcombe_paired"]) {
        const Interval d = newcombe_paired(r["a"].get<int64_t>(), r["b"].get<int64_t>(), r["c"].get<int64_t>(),
                                           r["d"].get<int64_t>());
        SCOPED_TRACE(r.dump());
        EXPECT_NEAR(d.estimate, r["diff"].get<double>(), 1e-12);
        EXPECT_NEAR(d.lo, r["lo"].get<double>(), 1e-12);
        EXPECT_NEAR(d.hi, r["hi"].get<double>(), 1e-12);
    }
}

TEST(AuditStats, PairedWithoutCorrelationIsTheUnpairedInterval) {
    // a*d == b*c: phi = 0, so the paired interval is the unpaired one on the margins.
    const Interval p = newcombe_paired(4, 2, 6, 3), u = newcombe_diff(6, 15, 10, 15);
    EXPECT_NEAR(p.lo, u.lo, 1e-12);
    EXPECT_NEAR(p.hi, u.hi, 1e-12);
}

TEST(AuditStats, SignificanceAndEdges) {
    EXPECT_TRUE(newcombe_diff(45, 50, 5, 50).excludes_zero());
    EXPECT_FALSE(newcombe_diff(5, 10, 4, 10).excludes_zero());
    const Interval none = wilson(0, 0);
    EXPECT_EQ(none.lo, 0);
    EXPECT_EQ(none.hi, 1);
    EXPECT_EQ(wilson(0, 7).lo, 0);
    EXPECT_EQ(wilson(7, 7).hi, 1);
}
