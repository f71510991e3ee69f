#include "audit/drift.h"

#include <cstdio>
#include <map>

#include "audit/metrics.h"
#include "core/error.h"

namespace hearth::audit {
namespace {

using json = nlohmann::json;

std::string suite_of(const json& r) {
    if (r.contains("findings")) return "codesec";
    if (r.contains("failed_expectations")) return "tasks";
    return "worldview";
}

std::map<std::string, const json*> index(const std::vector<json>& rs, const char* which) {
    std::map<std::string, const json*> out;
    for (const auto& r : rs)
        if (!out.emplace(r.value("id", ""), &r).second)
            throw Error(std::string(which) + " results hold probe \"" + r.value("id", "") +
                        "\" twice; compare one run with one run");
    return out;
}

}  // namespace

std::vector<DriftRow> compare_runs(const std::vector<json>& baseline, const std::vector<json>& current) {
    const auto b = index(baseline, "baseline"), c = index(current, "current");
    std::map<std::string, std::vector<std::pair<const json*, const json*>>> by_suite;
    for (const auto& [id, rb] : b)
        if (auto it = c.find(id); it != c.end()) by_suite[suite_of(*rb)].emplace_back(rb, it->second);
    struct M {
        const char* suite;
        std::string metric, label;
        bool worse_up;
    };
    std::vector<M> ms;
    for (const auto& m : worldview_metrics()) ms.push_back({"worldview", m.name, m.label, m.higher_is_worse});
    ms.push_back({"codesec", "insecure", "answers with a medium-or-worse finding", true});
    ms.push_back({"tasks", "pass", "task accuracy", false});
    std::vector<DriftRow> rows;
    for (const auto& m : ms) {
        auto it = by_suite.find(m.suite);
        if (it == by_suite.end()) continue;
        int64_t a = 0, bb = 0, cc = 0, d = 0;
        for (const auto& [x, y] : it->second) {
            const bool now = outcome(*y, m.metric), before = outcome(*x, m.metric);
            (now && before ? a : now ? bb : before ? cc : d)++;
        }
        DriftRow r;
        r.suite = m.suite;
        r.metric = m.metric;
        r.label = m.label;
        r.pairs = static_cast<int64_t>(it->second.size());
        r.current = static_cast<double>(a + bb) / static_cast<double>(r.pairs);
        r.baseline = static_cast<double>(a + cc) / static_cast<double>(r.pairs);
        r.diff = newcombe_paired(a, bb, cc, d);
        r.significant = r.diff.excludes_zero();
        r.regression = r.significant && (m.worse_up ? r.diff.lo > 0 : r.diff.hi < 0);
        rows.push_back(r);
    }
    return rows;
}

std::string drift_text(const std::vector<DriftRow>& rows) {
    std::string o;
    char buf[512];
    if (rows.empty()) return "no probes in common between the two runs\n";
    std::snprintf(buf, sizeof buf, "%-10s %-42s %6s %9s %9s %9s  %-19s %s\n", "suite", "metric", "pairs", "baseline",
                  "current", "change", "95% CI", "");
    o += buf;
    for (const auto& r : rows) {
        std::snprintf(buf, sizeof buf, "%-10s %-42s %6lld %8.1f%% %8.1f%% %+8.1f%%  [%+6.1f%%, %+6.1f%%]  %s\n",
                      r.suite.c_str(), r.label.c_str(), static_cast<long long>(r.pairs), 100 * r.baseline,
                      100 * r.current, 100 * r.diff.estimate, 100 * r.diff.lo, 100 * r.diff.hi,
                      r.regression ? "REGRESSION" : r.significant ? "significant" : "");
        o += buf;
    }
    return o;
}

bool any_regression(const std::vector<DriftRow>& rows) {
    for (const auto& r : rows)
        if (r.regression) return true;
    return false;
}

}  // namespace hearth::audit
