#include "cli/common.h"

#include <unistd.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "format/gguf.h"
#include "model/model.h"

namespace hearth::cli {

void add_model_options(CLI::App& app, ModelOptions& o) {
    app.add_option("-m,--model", o.path, "GGUF model file")->required();
    app.add_option("-t,--threads", o.threads, "CPU threads (default: all cores)")->check(CLI::Range(0, 1024));
    app.add_option("-c,--ctx-size", o.ctx, "context length in tokens (default 4096, at most the model's)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    app.add_option("-b,--batch-size", o.batch, "prompt tokens fed per step")->check(CLI::Range(1, 8192));
    add_ubatch_option(app, o.ubatch);
    app.add_option("--kv-type", o.kv_type, "KV cache element type: f16 (default, as llama.cpp) or f32")
        ->check(CLI::IsMember({"f16", "f32"}));
}

void add_ubatch_option(CLI::App& app, int64_t& ubatch) {
    app.add_option("-u,--ubatch-size", ubatch,
                   "rows (tokens) one forward pass runs at most; larger batches run as several passes, which bounds "
                   "the activation memory (default 0: automatic, 64-512 rows keeping the scratch within 1/256 of the "
                   "weights)")
        ->check(CLI::Range(int64_t{0}, int64_t{8192}));
}

void add_sampling_options(CLI::App& app, engine::SamplingParams& s) {
    app.add_option("--temp", s.temperature, "temperature; 0 = greedy")->capture_default_str();
    app.add_option("--top-k", s.top_k, "top-k; 0 = off")->capture_default_str();
    app.add_option("--top-p", s.top_p, "top-p (nucleus); 1 = off")->capture_default_str();
    app.add_option("--min-p", s.min_p, "min-p; 0 = off")->capture_default_str();
    app.add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty; 1 = off")->capture_default_str();
    app.add_option("--repeat-last-n", s.repeat_last_n, "tokens the penalties look back over (-1 = all)")
        ->capture_default_str();
    app.add_option("--presence-penalty", s.presence_penalty, "presence penalty")->capture_default_str();
    app.add_option("--frequency-penalty", s.frequency_penalty, "frequency penalty")->capture_default_str();
    app.add_option("-s,--seed", s.seed, "random seed")->capture_default_str();
}

engine::SessionOptions session_options(const ModelOptions& o) {
    engine::SessionOptions s;
    s.n_ctx = o.ctx;
    s.n_batch = o.batch;
    s.kv_type = o.kv_type == "f32" ? DType::F32 : DType::F16;
    return s;
}

int thread_count(const ModelOptions& o) { return o.threads > 0 ? o.threads : hardware_threads(); }

std::unique_ptr<model::Model> load_model(const std::string& path, int64_t ubatch) {
    auto m = model::Model::load(path);
    m->set_rows_per_pass(ubatch);
    const auto& f = m->file();
    uint64_t total = 0;
    for (const auto& t : f.tensors()) total += t.nbytes;
    Progress bar("loading " + path, total);
    const long page = ::sysconf(_SC_PAGESIZE);
    volatile uint8_t sink = 0;
    uint64_t done = 0;
    for (const auto& t : f.tensors()) {
        for (uint64_t off = 0; off < t.nbytes; off += static_cast<uint64_t>(page)) sink = sink + t.data[off];
        done += t.nbytes;
        bar.update(done);
    }
    bar.finish();
    (void)sink;
    return m;
}

}  // namespace hearth::cli
