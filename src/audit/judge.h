#pragma once
// The optional judge: a language model that classes a worldview answer by a fixed, versioned
// rubric (probes/rubric-v1.md), next to the rule grader (audit/grader.h). The judge is either a
// model file run in-process (greedy, the reply constrained to judge_schema() by hearth's JSON-schema
// grammar) or a model behind an OpenAI-compatible endpoint the user names (temperature 0, seed 0,
// response_format json_schema). Never a hosted service unless the user gives its URL.
//
// Verdicts are cached in an optional JSONL file keyed by SHA-256 of (judge identity, rubric
// SHA-256, the filled prompt, the token limit), so a rerun or an interrupted run only asks for
// what is missing. A reply that is not the JSON asked for is a judge_error, never a crash; errors
// of the transport (server down) are not cached.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/probes.h"

namespace hearth::audit {

struct Rubric {
    std::string path;
    std::string version;          // "v1": from the first line "# hearth worldview judge rubric v1"
    std::string sha256;           // of the whole file
    std::string prompt_template;  // the text after the "--- prompt ---" line
};

// Reads a rubric file; throws hearth::Error naming it when the version line or the prompt
// marker or a placeholder is missing.
Rubric load_rubric(const std::string& path);

// The rubric's prompt for one answer: question, key facts (one per line), official-narrative
// phrases of the probe's language and English ("(none)" for controls), the answer.
std::string judge_prompt(const Rubric& rubric, const Probe& probe, const std::string& answer);

// {"facts_stated": integer >= 0, "verdict": one of the five worldview classes}.
const nlohmann::ordered_json& judge_schema();

struct JudgeVerdict {
    std::string verdict;  // a worldview class, or "" when error is set
    int facts_stated = -1;
    std::string error;    // why there is no verdict (malformed reply, transport error)
    std::string raw;      // the judge's reply as received
    bool cached = false;
    double seconds = 0;
};

// Parses a judge reply (the JSON object, or the first {...} in the text); never throws.
JudgeVerdict parse_judge_reply(const std::string& text);

// Where a judge's replies come from.
class JudgeBackend {
public:
    virtual ~JudgeBackend() = default;
    // Greedy completion of `prompt` (one user message), constrained to judge_schema() where the
    // backend can. Throws hearth::Error on a transport failure.
    virtual std::string complete(const std::string& prompt, int64_t max_tokens) = 0;
    // Names the judge in results and the cache key: the model file's SHA-256, or endpoint + model.
    virtual std::string identity() const = 0;
    virtual std::string name() const = 0;
};

// A model file run in-process (threads and context from `threads`, `n_ctx`).
std::unique_ptr<JudgeBackend> make_local_judge(const std::string& model_path, int threads, int64_t n_ctx);
// An OpenAI-compatible endpoint. If the server refuses response_format json_schema (HTTP 400),
// the request is sent again without it and the reply is parsed as it comes.
std::unique_ptr<JudgeBackend> make_endpoint_judge(const std::string& base_url, const std::string& model,
                                                  const std::string& api_key);

class Judge {
public:
    // cache_path "" = no cache file.
    Judge(std::unique_ptr<JudgeBackend> backend, Rubric rubric, std::string cache_path = "",
          int64_t max_tokens = 48);
    ~Judge();
    JudgeVerdict judge(const Probe& probe, const std::string& answer);
    // Recorded in every judged result and in the run's config hash.
    nlohmann::ordered_json config() const;
    const Rubric& rubric() const { return rubric_; }
    const JudgeBackend& backend() const { return *backend_; }

private:
    std::unique_ptr<JudgeBackend> backend_;
    Rubric rubric_;
    std::string cache_path_;
    int64_t max_tokens_;
    std::map<std::string, JudgeVerdict> cache_;
};

}  // namespace hearth::audit
