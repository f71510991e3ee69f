#pragma once
// Options and helpers shared by the sub-commands that load a model.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "engine/sampler.h"
#include "engine/session.h"

namespace hearth::model {
class Model;
}

namespace hearth::cli {

struct ModelOptions {
    std::string path;
    int threads = 0;  // 0: all hardware threads
    int64_t ctx = 4096;
    int64_t batch = 256;
    int64_t ubatch = 0;  // rows per forward pass; 0: the model's automatic choice
    std::string kv_type = "f16";
};

void add_model_options(CLI::App& app, ModelOptions& o);
void add_ubatch_option(CLI::App& app, int64_t& ubatch);
void add_sampling_options(CLI::App& app, engine::SamplingParams& s);

engine::SessionOptions session_options(const ModelOptions& o);
int thread_count(const ModelOptions& o);

// Loads the model and touches its pages once with a progress bar, so the first token
// is not slowed by page faults and the person waiting sees progress. ubatch: rows per
// forward pass (Model::set_rows_per_pass; 0 keeps the automatic choice).
std::unique_ptr<model::Model> load_model(const std::string& path, int64_t ubatch = 0);

// Subcommand registration: each returns the handler to call when chosen.
void register_run(CLI::App& app);
void register_info(CLI::App& app);
void register_chat(CLI::App& app);
void register_passport(CLI::App& app);
void register_audit(CLI::App& app);
void register_bench(CLI::App& app);
void register_serve(CLI::App& app);
void register_quantize(CLI::App& app);
void register_log(CLI::App& app);

}  // namespace hearth::cli
