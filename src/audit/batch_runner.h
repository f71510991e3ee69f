#pragma once
// `hearth audit run` with several probes in flight: answers come from the response cache
// (audit/response_cache.h) when it has them, else from a ParallelGenerator, up to P at a time;
// each answer is graded (rules, code scan, optional judge) and handed to on_result in probe
// order as soon as every earlier probe is settled, so a results file written from on_result
// reads the same whatever P and whatever order answers finished in. A probe whose generation
// fails is listed in the stats and skipped, not fatal: the run goes on with the others.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "audit/parallel_generator.h"
#include "audit/response_cache.h"
#include "audit/runner.h"

namespace hearth::audit {

struct ParallelRunStats {
    int64_t generated = 0;  // answered by the model
    int64_t cached = 0;     // answered by the response cache
    std::vector<std::pair<std::string, std::string>> failures;  // probe id, why
    double seconds = 0;     // wall time of the whole run
};

// Runs probes[i] for every i in `todo` (in that order). `cache` and `scanner` may be null.
// on_result sees each result with `cached` telling whether the answer came from the cache.
ParallelRunStats run_probes_parallel(ParallelGenerator& gen, const std::vector<Probe>& probes,
                                     const std::vector<size_t>& todo, const RunOptions& opt, ResponseCache* cache,
                                     const std::function<void(const ProbeResult&, bool cached)>& on_result,
                                     const CodeScanner* scanner = nullptr);

}  // namespace hearth::audit
