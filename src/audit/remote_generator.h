#pragma once
// Audits a model behind an OpenAI-compatible server. Greedy (temperature 0, seed 0); reasoning
// is taken from the reply's reasoning_content when the server splits it, else from
// <think>...</think> in the content. RemoteGenerator sends one request at a time (the runner's
// Generator); ParallelRemoteGenerator keeps up to P requests in flight, each worker with its
// own connection. Busy (429) and failing (5xx) replies are retried as client::RetryPolicy says;
// a probe whose request still fails is reported as failed, and the others go on.
#include <string>

#include "audit/parallel_generator.h"
#include "audit/runner.h"
#include "client/openai_client.h"

namespace hearth::audit {

struct EndpointOptions {
    std::string base_url, model, api_key;
    double timeout_s = 600;  // per attempt
    client::RetryPolicy retry;
};

// The chat messages a probe becomes (system, if any, and the prompt).
nlohmann::json probe_messages(const Probe& p);

// The sampling fields every audit request carries.
const nlohmann::json& remote_sampling();

class RemoteGenerator : public Generator {
public:
    RemoteGenerator(const std::string& base_url, std::string model, std::string api_key, double timeout_s = 600,
                    client::RetryPolicy retry = {});
    Generation generate(const Probe& probe, int64_t max_tokens) override;
    std::string model_name() const override { return model_; }

private:
    client::OpenAIClient client_;
    std::string model_;
};

class ParallelRemoteGenerator : public ParallelGenerator {
public:
    ParallelRemoteGenerator(EndpointOptions opt, int parallel);
    void generate(const std::vector<Probe>& probes, const std::vector<size_t>& todo, int64_t max_tokens,
                  const OnDone& done, const OnFailed& failed) override;
    int parallel() const override { return parallel_; }
    std::string model_name() const override { return opt_.model; }
    std::string identity() const override { return opt_.base_url + " " + opt_.model; }
    std::string request_text(const Probe& p) const override { return probe_messages(p).dump(); }
    std::string sampling() const override { return remote_sampling().dump(); }

private:
    EndpointOptions opt_;
    int parallel_;
};

}  // namespace hearth::audit
