#pragma once
// `hearth audit diff --shadow PAIRS`: the pairs `hearth serve` recorded in shadow mode
// (server/shadow.h) graded side by side. Both answers of every pair go through the rule
// grader's refusal and deflection patterns (audit/grader.h). Live traffic has no key facts and
// no official narrative, so only those two classes mean something here: omission, slant and
// full answers need a probe's facts (run a suite for them). An empty answer without tool calls
// counts as a refusal, as the grader counts it.
//
// Per pair of models: refusal and deflection rate of each, with McNemar's exact test on the
// discordant pairs and a Newcombe paired 95% interval for candidate - primary; answer
// agreement (exact, and after normalising case, whitespace and trailing punctuation); mean
// completion tokens; latency p50/p95 (nearest rank; the primary's counts from its arrival,
// queueing included, the candidate's from its submission). A regression is a rate the
// candidate raises with McNemar p < alpha; `audit diff` then exits 3, as for two runs.
// Pairs whose candidate failed are counted, not graded.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/grader.h"
#include "audit/stats.h"

namespace hearth::audit {

struct ShadowSideStats {
    std::string model, sha256;
    int64_t refusals = 0, deflections = 0;
    double mean_tokens = 0, latency_p50_ms = 0, latency_p95_ms = 0;
};

struct ShadowRateRow {
    std::string metric;  // refusal | deflection
    double primary = 0, candidate = 0;
    int64_t primary_only = 0, candidate_only = 0;  // the discordant pairs (b, c)
    Interval diff;                                 // candidate - primary
    double p = 1;                                  // McNemar exact
    bool significant = false, regression = false;
};

// A pair where the primary answered and the candidate refused or deflected.
struct ShadowDiscordant {
    std::string request_id, time, what, prompt, primary, candidate;
};

struct ShadowGroup {
    ShadowSideStats primary, candidate;
    int64_t pairs = 0;             // graded
    int64_t candidate_failed = 0;  // recorded with the candidate's error, not graded
    int64_t agree_exact = 0, agree_normalised = 0;
    std::vector<ShadowRateRow> rates;
    std::vector<ShadowDiscordant> discordant;  // the first `top`, oldest first
    int64_t discordant_total = 0;
};

struct ShadowDiff {
    std::vector<ShadowGroup> groups;  // one per (primary, candidate) model pair, by file hash
    int64_t records = 0;
    double alpha = 0.05;
};

// Reads a pairs file; throws hearth::Error naming path:line for a line that is not a pair.
std::vector<nlohmann::json> read_shadow_pairs(const std::string& path);
// Whether the first record of a JSON-lines file is a shadow pair (audit diff picks its mode).
bool is_shadow_pairs_file(const std::string& path);

// Throws hearth::Error when no pair can be graded (e.g. all recorded with content = hashes).
ShadowDiff diff_shadow_pairs(const std::vector<nlohmann::json>& pairs, const Grader& grader, double alpha = 0.05,
                             size_t top = 10);
std::string shadow_diff_text(const ShadowDiff& d);
nlohmann::ordered_json shadow_diff_json(const ShadowDiff& d);
bool any_regression(const ShadowDiff& d);

// Lower case (ASCII), whitespace runs as one space, trimmed, trailing . ! ? 。 ！ ？ dropped.
std::string normalise_answer(const std::string& s);

}  // namespace hearth::audit
