#pragma once
// Drift between two audit runs of the same probes (e.g. a model before and after an update,
// or two quantizations): per metric, the paired difference current - baseline over the probes
// both runs answered, with a Newcombe 95% interval. A change is significant when the interval
// excludes 0, and a regression when it is significant in the bad direction.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/stats.h"

namespace hearth::audit {

struct DriftRow {
    std::string suite;   // worldview | codesec | tasks
    std::string metric;  // refusal, soft, slant, full, divergence, insecure, pass
    std::string label;
    int64_t pairs = 0;
    double baseline = 0, current = 0;  // rates over the paired probes
    Interval diff;
    bool significant = false, regression = false;
};

// Throws hearth::Error when a file holds the same probe id twice (a run per file).
std::vector<DriftRow> compare_runs(const std::vector<nlohmann::json>& baseline,
                                   const std::vector<nlohmann::json>& current);
std::string drift_text(const std::vector<DriftRow>& rows);
bool any_regression(const std::vector<DriftRow>& rows);

}  // namespace hearth::audit
