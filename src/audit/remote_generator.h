#pragma once
// Audits a model behind an OpenAI-compatible server (audit/runner.h's Generator). Greedy
// (temperature 0, seed 0); reasoning is taken from the reply's reasoning_content when the
// server splits it, else from <think>...</think> in the content.
#include <string>

#include "audit/runner.h"
#include "client/openai_client.h"

namespace hearth::audit {

class RemoteGenerator : public Generator {
public:
    RemoteGenerator(const std::string& base_url, std::string model, std::string api_key);
    Generation generate(const Probe& probe, int64_t max_tokens) override;
    std::string model_name() const override { return model_; }

private:
    client::OpenAIClient client_;
    std::string model_;
};

}  // namespace hearth::audit
