#pragma once
// Runs a probe suite through a model and grades every answer (audit/grader.h). The model is
// behind a Generator: in-process (LocalGenerator: the model's own chat template, ChatML when
// the file has none, greedy through engine::Session) or an OpenAI-compatible server
// (client::RemoteGenerator). Reasoning and answer are kept apart (chat::OutputParser), so
// facts a model reasons about but leaves out of its answer can be counted. Code probes
// (codesec) have the code blocks of the answer scanned (audit/codescan.h).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/codescan.h"
#include "audit/grader.h"
#include "audit/judge.h"
#include "audit/probes.h"
#include "chat/output_parser.h"
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
    // Optional judge model (audit/judge.h): every worldview answer is also classed by it. The
    // headline verdict stays the rules' unless grade_by_judge (then the judge's, and the rules'
    // where the judge gave none).
    Judge* judge = nullptr;
    bool grade_by_judge = false;
};

// One answer from a model.
struct Generation {
    std::string text;       // as generated (reasoning markup included, when the model writes it inline)
    std::string reasoning;  // the reasoning trace
    std::string content;    // the answer
    int64_t n_prompt = 0, n_tokens = 0;
    std::string finish_reason;
    double prefill_s = 0, decode_s = 0;
};

class Generator {
public:
    virtual ~Generator() = default;
    // Greedy answer to the probe's messages (system, if any, and the prompt).
    virtual Generation generate(const Probe& probe, int64_t max_tokens) = 0;
    // What to record as the model: a file's general.name or path, or the server's model name.
    virtual std::string model_name() const = 0;
};

class LocalGenerator : public Generator {
public:
    LocalGenerator(const model::Model& m, ThreadPool& pool, const engine::SessionOptions& so, std::string name);
    ~LocalGenerator() override;
    Generation generate(const Probe& probe, int64_t max_tokens) override;
    std::string model_name() const override { return name_; }
    // Constrains every later answer to JSON valid under `schema` (chat/json_schema.h); the judge
    // uses it for its verdicts.
    void set_json_schema(const nlohmann::ordered_json& schema);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string name_;
};

// A finished generation as the audit sees it: reasoning split from the answer in the model's
// output format (prompt_text: the rendered prompt, which may open the reasoning trace), and
// tool-call arguments appended to the answer, since their text may still hold it.
Generation to_generation(const engine::GenerateResult& gr, chat::OutputFormat format, const std::string& prompt_text);

struct ProbeResult {
    Probe probe;
    std::string model;
    std::string response;     // as generated (thinking included)
    std::string reasoning;    // the reasoning trace ("" when none)
    std::string graded_text;  // what was graded: the answer without the reasoning
    std::vector<std::string> reasoning_only_facts;  // key facts in the reasoning but not in the answer
    // codesec: the code blocks scanned and what the analysers found.
    int code_blocks = 0;
    std::vector<std::string> scanned_with;  // analysers run
    std::vector<Finding> findings;
    std::string scan_error;
    int64_t n_prompt = 0;
    int64_t n_tokens = 0;
    std::string finish_reason;
    double latency_s = 0, prefill_s = 0, decode_s = 0;
    Grade grade;  // grade.verdict is the headline verdict (see graded_by)
    // With a judge: both verdicts, and which one is the headline.
    bool judged = false;
    JudgeVerdict judge;
    std::string rule_verdict;
    std::string graded_by = "rules";  // "rules" | "judge"
};

// The probes `opt` selects, in suite order.
std::vector<Probe> select_probes(const std::vector<Probe>& suite, const RunOptions& opt);

// Runs the selected probes; on_result (optional) sees each result as soon as it is graded.
// `scanner` (optional) scans the code of probes with a code_language.
std::vector<ProbeResult> run_probes(Generator& gen, const std::vector<Probe>& probes, const RunOptions& opt,
                                    const std::function<void(const ProbeResult&)>& on_result = {},
                                    const CodeScanner* scanner = nullptr);

// Grades a generation (and scans its code when `scanner` is given and the probe has a
// code_language); what run_probes does per probe.
ProbeResult grade_generation(const Probe& probe, const Generation& g, const Grader& grader,
                             const CodeScanner* scanner, const std::string& model_name);

// Has the judge class r's answer (worldview probes only) and records both verdicts.
void apply_judge(ProbeResult& r, Judge& judge, bool grade_by_judge);

nlohmann::ordered_json result_json(const ProbeResult& r, const std::string& model_sha256 = "");

// Verdict table per topic x language and the control asymmetry per language (worldview and
// task records), then the code-security rates per variant and language (codesec records), from
// result records (result_json objects, e.g. read back from a results file).
std::string summarize(const std::vector<nlohmann::json>& records);

// The text a grader should see: what follows the last "</think>" when there is one.
std::string strip_thinking(const std::string& response);

}  // namespace hearth::audit
