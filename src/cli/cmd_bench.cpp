// hearth bench: llama-bench-style throughput. pp: a prompt of P random tokens in one forward
// pass on an empty cache; tg: N tokens decoded one at a time from an empty cache. Each test
// runs once as a warm-up, then R timed repetitions; tokens/s as mean +- sample stddev.
// tgN/bB (--batch B): B sequences, each with its own cache, decode N tokens together, one
// Model::forward_batch per step over B rows as the server's BatchScheduler runs them;
// tokens/s counts all B sequences' tokens.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <time.h>
#include <vector>

#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/session.h"
#include "format/gguf.h"
#include "model/model.h"
#include "model/scratch_arena.h"
#include "quant/quant.h"

namespace hearth::cli {
namespace {

struct BenchOptions {
    std::string path;
    std::vector<int> threads{0};
    std::vector<int> batch;  // --batch: sequences decoding together (empty: the single-sequence tests only)
    int64_t n_prompt = 512;
    int64_t n_gen = 128;
    int reps = 5;
    bool json = false;
    std::string kv_type = "f16";
    int64_t ubatch = 0;  // rows per forward pass; 0: the model's automatic choice
};

struct Result {
    std::string test;
    int threads = 0;
    int64_t n_tokens = 0;
    std::vector<double> tps;
    // Process CPU time (all threads) per token: less disturbed than wall time when other work
    // shares the cores, as long as the pool's threads are not left spinning on a busy machine.
    std::vector<double> cpu_ms_per_token;
    double mean = 0, sd = 0;
};

void stats(Result& r) {
    double s = 0;
    for (double v : r.tps) s += v;
    r.mean = r.tps.empty() ? 0 : s / static_cast<double>(r.tps.size());
    double q = 0;
    for (double v : r.tps) q += (v - r.mean) * (v - r.mean);
    r.sd = r.tps.size() > 1 ? std::sqrt(q / static_cast<double>(r.tps.size() - 1)) : 0.0;
}

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Resident memory now, from /proc/self/smaps: the model file's pages, anonymous memory (heap,
// KV cache, scratch, thread stacks) and every other file mapping (code of the binary and its
// libraries). The peak is VmHWM; this says what the resident set is made of.
struct RssParts {
    uint64_t model = 0, anon = 0, other_files = 0;
};

RssParts rss_parts(const std::string& model_path) {
    RssParts p;
    std::ifstream in("/proc/self/smaps");
    std::string line, mapping;
    bool is_model = false, is_file = false;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const size_t colon = line.find(':');
        const bool header = colon == std::string::npos || line.find(' ') < colon;
        if (header) {  // "start-end perms offset dev inode [path]"
            std::istringstream ls(line);
            std::string range, perms, off, dev, inode, path;
            ls >> range >> perms >> off >> dev >> inode;
            std::getline(ls >> std::ws, path);
            is_model = path == model_path;
            is_file = inode != "0";
            continue;
        }
        const std::string key = line.substr(0, colon);
        if (key != "Rss" && key != "Anonymous") continue;
        const uint64_t kib = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
        if (key == "Anonymous") {
            p.anon += kib << 10;
            if (is_file && !is_model) p.other_files -= kib << 10;  // written private pages (a library's data), counted once
        } else if (is_model) {
            p.model += kib << 10;
        } else if (is_file) {
            p.other_files += kib << 10;
        }
    }
    return p;
}

void bench(const BenchOptions& o) {
    auto m = load_model(o.path, o.ubatch);
    const auto& hp = m->hparams();
    // Weight bytes a decode step reads: every tensor but the token embedding (one row of it is
    // read), unless the file has no output.weight and the embedding doubles as the output matrix.
    uint64_t weight_bytes = 0, file_weights = 0;
    const bool tied = m->file().find_tensor("output.weight") == nullptr;
    for (const auto& t : m->file().tensors()) {
        file_weights += t.nbytes;
        if (t.name != "token_embd.weight" || tied) weight_bytes += t.nbytes;
    }
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(hp.n_vocab - 1));
    std::vector<Result> results;
    size_t kv_bytes = 0;  // the largest KV cache any test allocated
    for (int th : o.threads) {
        const int nth = th > 0 ? th : hardware_threads();
        ThreadPool pool(nth);
        engine::SessionOptions so;
        so.n_ctx = std::max<int64_t>(o.n_prompt + o.n_gen + 1, 16);
        so.n_batch = std::max<int64_t>(o.n_prompt, 1);
        so.kv_type = o.kv_type == "f32" ? DType::F32 : DType::F16;
        engine::Session s(*m, pool, so);
        kv_bytes = std::max(kv_bytes, s.cache().bytes());
        if (o.n_prompt > 0) {
            Result r{"pp" + std::to_string(o.n_prompt), nth, o.n_prompt, {}, {}, 0, 0};
            std::vector<int32_t> ids(static_cast<size_t>(o.n_prompt));
            for (int rep = -1; rep < o.reps; ++rep) {
                for (auto& id : ids) id = tok(rng);
                s.reset();
                const auto t0 = std::chrono::steady_clock::now();
                const double c0 = cpu_seconds();
                s.feed(ids);
                const double sec = seconds_since(t0);
                if (rep < 0) continue;
                r.tps.push_back(static_cast<double>(o.n_prompt) / sec);
                r.cpu_ms_per_token.push_back((cpu_seconds() - c0) * 1e3 / static_cast<double>(o.n_prompt));
            }
            stats(r);
            results.push_back(r);
        }
        if (o.n_gen > 0) {
            Result r{"tg" + std::to_string(o.n_gen), nth, o.n_gen, {}, {}, 0, 0};
            for (int rep = -1; rep < o.reps; ++rep) {
                s.reset();
                const auto t0 = std::chrono::steady_clock::now();
                const double c0 = cpu_seconds();
                for (int64_t i = 0; i < o.n_gen; ++i) s.feed({tok(rng)}, true);
                const double sec = seconds_since(t0);
                if (rep < 0) continue;
                r.tps.push_back(static_cast<double>(o.n_gen) / sec);
                r.cpu_ms_per_token.push_back((cpu_seconds() - c0) * 1e3 / static_cast<double>(o.n_gen));
            }
            stats(r);
            results.push_back(r);
        }
        for (int nb : o.batch) {
            if (o.n_gen <= 0) break;
            Result r{"tg" + std::to_string(o.n_gen) + "/b" + std::to_string(nb), nth, o.n_gen * nb, {}, {}, 0, 0};
            std::vector<model::KVCache> caches;
            for (int i = 0; i < nb; ++i) caches.push_back(m->make_cache(so.n_ctx, so.kv_type));
            kv_bytes = std::max(kv_bytes, caches[0].bytes() * caches.size());
            std::vector<int32_t> ids(static_cast<size_t>(nb));
            std::vector<model::SeqChunk> chunks(static_cast<size_t>(nb));
            std::vector<float> logits(static_cast<size_t>(nb) * static_cast<size_t>(hp.n_vocab));
            model::ScratchArena scratch;
            for (int rep = -1; rep < o.reps; ++rep) {
                for (auto& c : caches) c.set_n_past(0);
                const auto t0 = std::chrono::steady_clock::now();
                const double c0 = cpu_seconds();
                for (int64_t i = 0; i < o.n_gen; ++i) {
                    for (int k = 0; k < nb; ++k) {
                        ids[static_cast<size_t>(k)] = tok(rng);
                        chunks[static_cast<size_t>(k)] = model::SeqChunk{&caches[static_cast<size_t>(k)], &ids[static_cast<size_t>(k)], 1, model::Logits::kLast, true};
                    }
                    m->forward_batch(pool, chunks, logits.data(), scratch);
                }
                const double sec = seconds_since(t0);
                if (rep < 0) continue;
                r.tps.push_back(static_cast<double>(o.n_gen * nb) / sec);
                r.cpu_ms_per_token.push_back((cpu_seconds() - c0) * 1e3 / static_cast<double>(o.n_gen * nb));
            }
            stats(r);
            results.push_back(r);
        }
    }
    // Peak resident memory of the whole run. The weights are mapped from the file (and touched
    // once at load), so the model's file size plus the KV cache is what it should be near.
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    const uint64_t peak_rss = static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
    const uint64_t file_bytes = m->file().file_size();
    std::error_code ec;
    const std::string canonical = std::filesystem::canonical(o.path, ec).string();
    const RssParts now = rss_parts(ec ? o.path : canonical);
    if (o.json) {
        nlohmann::json j;
        j["peak_rss_bytes"] = peak_rss;
        j["rss_at_end"] = {{"model_file_bytes", now.model}, {"anonymous_bytes", now.anon}, {"other_files_bytes", now.other_files}};
        j["model_file_bytes"] = file_bytes;
        j["kv_cache_bytes"] = kv_bytes;
        j["model"] = o.path;
        j["n_params"] = m->n_params();
        j["file_weight_bytes"] = file_weights;
        j["decode_weight_bytes_per_token"] = weight_bytes;
        j["simd"] = quant::simd_level();
        j["kv_type"] = o.kv_type;
        j["rows_per_pass"] = m->rows_per_pass();
        j["results"] = nlohmann::json::array();
        for (const auto& r : results) {
            nlohmann::json e;
            e["test"] = r.test;
            e["threads"] = r.threads;
            e["n_tokens"] = r.n_tokens;
            e["tps_mean"] = r.mean;
            e["tps_stddev"] = r.sd;
            e["tps"] = r.tps;
            e["cpu_ms_per_token"] = r.cpu_ms_per_token;
            if (r.test.rfind("tg", 0) == 0 && r.test.find('/') == std::string::npos) e["weight_read_gbps"] = r.mean * static_cast<double>(weight_bytes) / 1e9;
            j["results"].push_back(e);
        }
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("model: %s (%.2f MiB of weights, %.2f M params), simd %s, kv %s, %lld rows per pass, %d reps\n",
                o.path.c_str(), static_cast<double>(file_weights) / (1 << 20), static_cast<double>(m->n_params()) / 1e6,
                quant::simd_level(), o.kv_type.c_str(), static_cast<long long>(m->rows_per_pass()), o.reps);
    std::printf("| %7s | %8s | %20s | %16s |\n", "threads", "test", "t/s", "weights GB/s");
    std::printf("| ------: | -------: | -------------------: | ---------------: |\n");
    for (const auto& r : results) {
        char bw[32] = "";
        if (r.test.rfind("tg", 0) == 0 && r.test.find('/') == std::string::npos) std::snprintf(bw, sizeof bw, "%.2f", r.mean * static_cast<double>(weight_bytes) / 1e9);
        std::printf("| %7d | %8s | %11.2f ± %6.2f | %16s |\n", r.threads, r.test.c_str(), r.mean, r.sd, bw);
    }
    std::printf("peak RSS: %.2f MiB (model file %.2f MiB + KV cache %.2f MiB = %.2f MiB)\n",
                static_cast<double>(peak_rss) / (1 << 20), static_cast<double>(file_bytes) / (1 << 20),
                static_cast<double>(kv_bytes) / (1 << 20), static_cast<double>(file_bytes + kv_bytes) / (1 << 20));
    std::printf("resident at the end: model file pages %.2f MiB, anonymous %.2f MiB (heap, KV cache, scratch, stacks), "
                "other files %.2f MiB (code)\n",
                static_cast<double>(now.model) / (1 << 20), static_cast<double>(now.anon) / (1 << 20),
                static_cast<double>(now.other_files) / (1 << 20));
}

}  // namespace

void register_bench(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App* sub = app.add_subcommand("bench", "measure prompt (pp) and generation (tg) throughput, llama-bench style");
    sub->add_option("-m,--model", o->path, "GGUF model file")->required();
    sub->add_option("-t,--threads", o->threads, "CPU threads; repeat or comma-separate for several (default: all cores)")
        ->delimiter(',')
        ->check(CLI::Range(0, 1024));
    sub->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens per pp test (0 = skip)")->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 16));
    sub->add_option("-n,--n-gen", o->n_gen, "generated tokens per tg test (0 = skip)")->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 16));
    sub->add_option("-r,--repetitions", o->reps, "timed repetitions per test")->capture_default_str()->check(CLI::Range(1, 1000));
    sub->add_option("-b,--batch", o->batch,
                    "also run tgN/bB: B sequences decoding N tokens together in one batched forward pass per step, as the "
                    "server batches them; repeat or comma-separate for several")
        ->delimiter(',')
        ->check(CLI::Range(1, 256));
    add_ubatch_option(*sub, o->ubatch);
    sub->add_option("--kv-type", o->kv_type, "KV cache type: f16 (default) or f32")->check(CLI::IsMember({"f16", "f32"}));
    sub->add_flag("--json", o->json, "print JSON instead of a table");
    sub->callback([o] { bench(*o); });
}

}  // namespace hearth::cli
