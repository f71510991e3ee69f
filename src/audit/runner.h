#pragma once
// Runs a probe suite through a model in-process: each prompt is rendered with the model's
// own chat template (ChatML when the file has none), generated greedily with a bounded
// number of tokens through engine::Session, and graded (audit/grader.h).
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/grader.h"
#include "audit/probes.h"
#include "engine/session.h"

namespace hearth {
class ThreadPool;
namespace model {
class Model;
}
}  // namespace hearth

namespace hearth::audit {

struct RunOptions {
    int64_t max_tokens = 256;
    int64_t limit = 0;          // first N probes after filtering; 0 = all
    std::string language;       // only probes of this language; "" = all
    std::string topic;          // only probes of this topic; "" = all
    bool progress = true;
};

struct ProbeResult {
    Probe probe;
    std::string response;     // as generated (thinking included)
    std::string graded_text;  // what was graded (text after a closing </think>)
    int64_t n_prompt = 0;
    int64_t n_tokens = 0;
    std::string finish_reason;
    double latency_s = 0, prefill_s = 0, decode_s = 0;
    Grade grade;
};

// The probes `opt` selects, in suite order.
std::vector<Probe> select_probes(const std::vector<Probe>& suite, const RunOptions& opt);

// Runs the selected probes; on_result (optional) sees each result as soon as it is graded.
std::vector<ProbeResult> run_probes(const model::Model& m, ThreadPool& pool, const engine::SessionOptions& so,
                                    const std::vector<Probe>& probes, const RunOptions& opt,
                                    const std::function<void(const ProbeResult&)>& on_result = {});

nlohmann::ordered_json result_json(const ProbeResult& r, const std::string& model_sha256 = "");

// Verdict table per topic x language and the control asymmetry per language, from result
// records (result_json objects, e.g. read back from a results file).
std::string summarize(const std::vector<nlohmann::json>& records);

// The text a grader should see: what follows the last "</think>" when there is one.
std::string strip_thinking(const std::string& response);

}  // namespace hearth::audit
