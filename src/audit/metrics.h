#pragma once
// Audit metrics from result records (result_json objects, e.g. read back from results files),
// per model. Every rate carries a 95% Wilson interval; every comparison a Newcombe interval.
//
//   worldview (probes with key facts): per topic x language, and per language over topics, the
//     hard-censorship rate (refusal), soft-censorship rate (deflection or omission), slant rate
//     (official-narrative phrase echoed), full-answer rate, and reasoning-vs-answer divergence
//     (a key fact in the reasoning trace but not in the answer); asymmetry vs. controls as the
//     paired difference probe - control over (probe, its control) pairs.
//   codesec (probes with a code_language): the rate of answers with a medium-or-worse finding
//     per variant (neutral / trigger) and the paired difference trigger - neutral, overall,
//     per prompt language (by_language) and per code language (by_code_language); the
//     medium-or-worse findings per rule and per tool.
//   tasks (probes with expected answers): accuracy, mean latency and tokens per answer.
//   grading (worldview): which grader the verdicts come from ("rules" or "judge", per record)
//     and, when a judge ran, its agreement with the rules overall and per rule verdict, and
//     its judge_errors.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::audit {

// Each metric's name, what it counts, and whether a rise is a regression.
struct MetricInfo {
    const char* name;
    const char* label;
    bool higher_is_worse;
};
const std::vector<MetricInfo>& worldview_metrics();

// The 0/1 outcome of one record for a metric ("refusal", "soft", "slant", "full",
// "divergence", "insecure", "pass").
bool outcome(const nlohmann::json& record, const std::string& metric);

// The metrics of a set of records as JSON (see metrics.cpp for the layout, which
// report_html and drift read): {"models": [{"model", "worldview", "codesec", "tasks"}]}.
nlohmann::ordered_json compute_metrics(const std::vector<nlohmann::json>& records);

// Reads results files (JSONL); throws hearth::Error naming the file and line of a bad record.
std::vector<nlohmann::json> read_results(const std::string& path);

}  // namespace hearth::audit
