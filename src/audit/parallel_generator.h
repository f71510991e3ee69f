#pragma once
// A model that answers several probes at a time, for `hearth audit run --parallel P`: in-process
// through the engine's continuous batching (audit/batched_local_generator.h) or as up to P
// concurrent requests to an OpenAI-compatible server (audit/remote_generator.h). Answers are
// greedy, so the order in which they finish changes nothing in them; audit/batch_runner.h puts
// the results back in probe order.
#include <functional>
#include <string>
#include <vector>

#include "audit/probes.h"
#include "audit/runner.h"

namespace hearth::audit {

class ParallelGenerator {
public:
    using OnDone = std::function<void(size_t index, Generation g)>;
    using OnFailed = std::function<void(size_t index, const std::string& message)>;
    virtual ~ParallelGenerator() = default;

    // Answers probes[i] for every i in `todo`, up to parallel() at a time, and returns when all
    // are answered. Exactly one of done / failed is called per index, on the calling thread, in
    // any order; a probe that fails (bad prompt, server error after retries) does not stop the
    // others.
    virtual void generate(const std::vector<Probe>& probes, const std::vector<size_t>& todo, int64_t max_tokens,
                          const OnDone& done, const OnFailed& failed) = 0;

    virtual int parallel() const = 0;
    virtual std::string model_name() const = 0;
    // For the response cache (audit/response_cache.h): who answers (the model file's SHA-256,
    // or endpoint + model name), the exact request a probe becomes (the rendered prompt, or the
    // messages sent), and the sampling.
    virtual std::string identity() const = 0;
    virtual std::string request_text(const Probe& p) const = 0;
    virtual std::string sampling() const = 0;
};

}  // namespace hearth::audit
