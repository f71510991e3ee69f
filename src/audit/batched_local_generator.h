#pragma once
// In-process answers through the engine's continuous batching (engine::BatchScheduler): up to
// P probes share every forward pass, each in its own sequence slot, and a slot's cached prompt
// head (the chat template's preamble, a shared system prompt) is reused by the next probe.
// Prompts are built as LocalGenerator builds them (the model's own chat template, ChatML when
// the file has none; reasoning split off by chat::OutputParser), decoding is greedy, and a
// batched forward pass computes every row exactly as a single-sequence one, so each answer is
// byte for byte what LocalGenerator (engine::Session) gives, whatever P
// (tests/unit/test_audit_runner_parallel.cpp holds it to that).
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/parallel_generator.h"
#include "engine/session.h"

namespace hearth {
class ThreadPool;
namespace model {
class Model;
}
}  // namespace hearth

namespace hearth::audit {

class BatchedLocalGenerator : public ParallelGenerator {
public:
    // so: most context per sequence, prompt tokens per step, KV type. Slots are sized to the
    // longest prompt + max_tokens (at most so.n_ctx), so memory is parallel x that x the model's
    // KV bytes per token. identity: what names the model in the response cache (its file's SHA-256).
    BatchedLocalGenerator(const model::Model& m, ThreadPool& pool, const engine::SessionOptions& so, int parallel,
                          std::string name, std::string identity);
    ~BatchedLocalGenerator() override;

    void generate(const std::vector<Probe>& probes, const std::vector<size_t>& todo, int64_t max_tokens,
                  const OnDone& done, const OnFailed& failed) override;
    int parallel() const override { return parallel_; }
    std::string model_name() const override { return name_; }
    std::string identity() const override { return identity_; }
    std::string request_text(const Probe& p) const override;  // the rendered prompt
    std::string sampling() const override;

    // Constrains every later answer to JSON valid under `schema` (as LocalGenerator does).
    void set_json_schema(const nlohmann::ordered_json& schema);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int parallel_;
    std::string name_, identity_;
};

}  // namespace hearth::audit
