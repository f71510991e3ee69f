// hearth serve: an OpenAI-compatible HTTP server (see src/server/server.h for the routes).
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/common.h"
#include "core/error.h"
#include "model/model.h"
#include "server/server.h"

namespace hearth::cli {
namespace {

struct ServeOptions {
    std::vector<std::string> models;
    std::vector<std::string> aliases;
    std::string host = "127.0.0.1";
    int port = 8080;
    std::vector<std::string> api_keys;
    std::string api_key_file;
    int threads = 0;
    int64_t ctx = 4096;
    int64_t batch = 256;
    std::string kv_type = "f16";
    size_t max_queue = 16;
    size_t max_body_bytes = 8u << 20;
    bool offline = false;
};

void serve(const ServeOptions& o) {
    if (!o.aliases.empty() && o.aliases.size() != o.models.size())
        throw Error("--alias: give one alias per -m model (" + std::to_string(o.models.size()) + " models, " +
                    std::to_string(o.aliases.size()) + " aliases)");
    server::ApiKeys keys;
    for (const auto& k : o.api_keys) keys.add(k);
    if (!o.api_key_file.empty()) {
        std::ifstream in(o.api_key_file);
        if (!in) throw Error("--api-key-file: cannot open " + o.api_key_file);
        std::string line;
        while (std::getline(in, line)) {
            while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
            if (!line.empty() && line[0] != '#') keys.add(line);
        }
    }

    // SIGINT/SIGTERM are taken by a thread with sigwait (blocked everywhere else, so every
    // thread created below inherits the mask), which then stops the server cleanly.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    server::ServerOptions so;
    so.host = o.host;
    so.port = o.port;
    so.max_body_bytes = o.max_body_bytes;
    server::Server srv(so, std::move(keys));

    ModelOptions mo;
    mo.threads = o.threads;
    mo.ctx = o.ctx;
    mo.batch = o.batch;
    mo.kv_type = o.kv_type;
    server::WorkerOptions wo;
    wo.threads = thread_count(mo);
    wo.session = session_options(mo);
    wo.max_queue = o.max_queue;
    std::vector<std::string> seen;
    for (size_t i = 0; i < o.models.size(); ++i) {
        std::string alias = o.aliases.empty() ? std::filesystem::path(o.models[i]).stem().string() : o.aliases[i];
        for (const auto& s : seen)
            if (s == alias) throw Error("two models share the alias '" + alias + "' (use --alias)");
        seen.push_back(alias);
        auto m = load_model(o.models[i]);
        srv.add_model(std::make_unique<server::ModelWorker>(alias, o.models[i], std::move(m), wo, &srv.metrics()));
    }

    int port = srv.bind();
    std::fprintf(stderr, "hearth serve: %zu model%s (%s), %d threads, context %lld\n", o.models.size(),
                 o.models.size() == 1 ? "" : "s", [&] {
                     std::string s;
                     for (const auto& a : seen) s += (s.empty() ? "" : ", ") + a;
                     return s;
                 }().c_str(),
                 wo.threads, static_cast<long long>(o.ctx));
    if (o.offline) std::fprintf(stderr, "hearth serve: --offline: no upstreams are configured; nothing to disable\n");
    std::fprintf(stderr, "hearth serve: listening on http://%s:%d\n", o.host.c_str(), port);
    std::fflush(stderr);

    std::thread waiter([&srv, set] {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig != 0) std::fprintf(stderr, "hearth serve: signal %d, stopping\n", sig);
        srv.stop();
    });
    srv.run();
    // run() also returns if the listener failed; make sure the waiter wakes up either way.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    std::fprintf(stderr, "hearth serve: stopped\n");
}

}  // namespace

void register_serve(CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    CLI::App* sub = app.add_subcommand("serve", "serve models over an OpenAI-compatible HTTP API");
    sub->add_option("-m,--model", o->models, "GGUF model file (repeat for several models)")->required();
    sub->add_option("--alias", o->aliases, "name clients use for the model, one per -m (default: the file stem)");
    sub->add_option("--host", o->host, "address to listen on (loopback by default)")->capture_default_str();
    sub->add_option("--port", o->port, "TCP port (0: any free port, printed on start)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    sub->add_option("--api-key", o->api_keys,
                    "accept this key as 'Authorization: Bearer KEY' (repeatable); without keys the API is open");
    sub->add_option("--api-key-file", o->api_key_file, "file of API keys, one per line ('#' comments)");
    sub->add_option("-t,--threads", o->threads, "CPU threads per model (default: all cores)")->check(CLI::Range(0, 1024));
    sub->add_option("-c,--ctx-size", o->ctx, "context length in tokens per model (default 4096, at most the model's)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    sub->add_option("-b,--batch-size", o->batch, "prompt tokens per forward pass")->check(CLI::Range(1, 8192));
    sub->add_option("--kv-type", o->kv_type, "KV cache element type: f16 (default) or f32")
        ->check(CLI::IsMember({"f16", "f32"}));
    sub->add_option("--max-queue", o->max_queue, "requests that may wait per model; more get 429")
        ->check(CLI::Range(size_t{1}, size_t{1} << 20))
        ->capture_default_str();
    sub->add_option("--max-body-bytes", o->max_body_bytes, "largest request body accepted; larger get 413")
        ->check(CLI::Range(size_t{64}, size_t{1} << 32))
        ->capture_default_str();
    sub->add_flag("--offline",
                  o->offline, "refuse to reach any network upstream (no upstreams exist yet, so this changes nothing)");
    sub->callback([o] { serve(*o); });
}

}  // namespace hearth::cli
