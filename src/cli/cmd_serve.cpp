// hearth serve: an OpenAI-compatible HTTP server (see src/server/server.h for the routes).
#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/common.h"
#include "core/error.h"
#include "model/model.h"
#include "audit/hash.h"
#include "server/config.h"
#include "server/server.h"
#include "server/shadow.h"

namespace hearth::cli {
namespace {

struct ServeOptions {
    std::vector<std::string> models;
    std::vector<std::string> aliases;
    std::string host;  // "": the config's, else 127.0.0.1
    int port = -1;     // -1: the config's, else 8080
    std::vector<std::string> api_keys;
    std::string api_key_file;
    int threads = 0;
    int64_t ctx = 4096;
    int64_t batch = 256;
    int64_t ubatch = 0;
    std::string kv_type = "f16";
    std::string pooling = "mean";
    size_t max_queue = 16;
    int64_t parallel = 4;
    double request_timeout = 0;
    size_t max_body_bytes = 0;  // 0: the config's, else 8 MiB
    bool offline = false;
    bool no_web_ui = false;
    std::string config;
    bool hash_key = false;
    std::string audit_log, audit_content, audit_fsync, audit_hmac_key_file;
};

// Reads the key to hash from stdin (not argv, which other users can see), prints its digest.
void hash_key() {
    std::string key;
    std::getline(std::cin, key);
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    if (key.empty()) throw Error("--hash-key: give the key on standard input (e.g. echo -n KEY | hearth serve --hash-key)");
    std::printf("%s\n", server::ApiKeys::hex(server::ApiKeys::sha256(key)).c_str());
}

// The config file (if any) with the command line's models, keys and audit options merged in.
server::ServeConfig merged_config(const ServeOptions& o) {
    server::ServeConfig cfg = o.config.empty() ? server::ServeConfig{} : server::load_serve_config(o.config);
    if (!o.aliases.empty() && o.aliases.size() != o.models.size())
        throw Error("--alias: give one alias per -m model (" + std::to_string(o.models.size()) + " models, " +
                    std::to_string(o.aliases.size()) + " aliases)");
    for (size_t i = 0; i < o.models.size(); ++i) {
        server::ModelConfig m;
        m.path = o.models[i];
        m.alias = o.aliases.empty() ? std::filesystem::path(o.models[i]).stem().string() : o.aliases[i];
        m.ctx = o.ctx;
        m.threads = o.threads;
        m.batch = o.batch;
        m.ubatch = o.ubatch;
        m.kv_type = o.kv_type;
        m.max_queue = o.max_queue;
        m.pooling = o.pooling;
        cfg.models.push_back(m);
    }
    if (cfg.models.empty()) throw Error("serve: give a model with -m FILE, or [[models]] in a --config file");
    if (!o.host.empty()) cfg.host = o.host;
    if (o.port >= 0) cfg.port = o.port;
    if (o.offline) cfg.offline = true;
    if (o.no_web_ui) cfg.web_ui = false;
    if (o.max_body_bytes > 0) cfg.max_body_bytes = o.max_body_bytes;
    if (!o.audit_log.empty()) {
        server::AuditConfig a = cfg.audit.value_or(server::AuditConfig{});
        a.path = o.audit_log;
        cfg.audit = a;
    }
    if (cfg.audit) {
        if (!o.audit_content.empty()) cfg.audit->content = server::parse_audit_content(o.audit_content);
        if (!o.audit_fsync.empty()) cfg.audit->fsync = server::parse_audit_fsync(o.audit_fsync);
        if (!o.audit_hmac_key_file.empty()) cfg.audit->hmac_key_file = o.audit_hmac_key_file;
    } else if (!o.audit_content.empty() || !o.audit_fsync.empty() || !o.audit_hmac_key_file.empty()) {
        throw Error("--audit-content/--audit-fsync/--audit-hmac-key-file need --audit-log (or [audit] path)");
    }
    server::validate_serve_config(cfg, o.config.empty() ? "command line" : o.config);
    return cfg;
}

void serve(const ServeOptions& o) {
    if (o.hash_key) return hash_key();
    const server::ServeConfig cfg = merged_config(o);
    // No egress: refuse before anything is loaded or bound.
    if (cfg.offline && !cfg.upstreams.empty()) {
        std::string names;
        for (const auto& u : cfg.upstreams) names += (names.empty() ? "" : ", ") + u.name + " (" + u.base_url + ")";
        throw Error("offline: the config names upstreams: " + names +
                    "; refusing to start (remove them, or drop --offline / [server] offline)");
    }

    server::ApiKeys keys;
    for (const auto& k : cfg.keys) {
        server::KeyPolicy p;
        p.id = k.id;
        p.digest = server::ApiKeys::from_hex(k.sha256);
        p.models = k.models;
        p.max_request_bytes = k.max_request_bytes;
        p.tokens_per_minute = k.tokens_per_minute;
        keys.add(std::move(p));
    }
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

    // Opened before the models load, so a log that fails its tail check stops us at once.
    std::unique_ptr<server::AuditLog> audit;
    if (cfg.audit) {
        server::AuditLogOptions ao;
        ao.path = cfg.audit->path;
        ao.content = cfg.audit->content;
        ao.fsync = cfg.audit->fsync;
        ao.fsync_interval_ms = cfg.audit->fsync_interval_ms;
        if (!cfg.audit->hmac_key_file.empty()) ao.hmac_key = server::read_hmac_key_file(cfg.audit->hmac_key_file);
        audit = std::make_unique<server::AuditLog>(ao);
        if (!audit->open_note().empty())
            std::fprintf(stderr, "hearth serve: audit log %s: %s\n", ao.path.c_str(), audit->open_note().c_str());
    }

    // SIGINT/SIGTERM are taken by a thread with sigwait (blocked everywhere else, so every
    // thread created below inherits the mask), which then stops the server cleanly.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    server::ServerOptions so;
    so.host = cfg.host;
    so.port = cfg.port;
    so.max_body_bytes = cfg.max_body_bytes;
    so.http_threads = cfg.http_threads;
    so.offline = cfg.offline;
    so.web_ui = cfg.web_ui;
    server::Server srv(so, std::move(keys));

    std::vector<std::string> seen;
    nlohmann::ordered_json started = nlohmann::ordered_json::array();
    int threads = 0;
    for (const auto& mc : cfg.models) {
        ModelOptions mo;
        mo.threads = mc.threads;
        mo.ctx = mc.ctx;
        mo.batch = mc.batch;
        mo.kv_type = mc.kv_type;
        server::WorkerOptions wo;
        wo.threads = threads = thread_count(mo);
        wo.session = session_options(mo);
        wo.max_queue = mc.max_queue;
        wo.max_sequences = mc.max_sequences > 0 ? mc.max_sequences : o.parallel;
        wo.request_timeout_s = o.request_timeout;
        wo.pooling = engine::parse_pooling(mc.pooling);
        seen.push_back(mc.alias);
        server::ModelExtras ex;
        ex.sampling = mc.sampling;
        // The audit log and the shadow pairs name the exact weights that answered: hashed once, here.
        if (audit || cfg.shadow) ex.sha256 = audit::sha256_file(mc.path);
        auto m = load_model(mc.path, mc.ubatch);
        srv.add_model(std::make_unique<server::ModelWorker>(mc.alias, mc.path, std::move(m), wo, &srv.metrics()),
                      ex);
        started.push_back({{"alias", mc.alias}, {"path", mc.path}, {"sha256", ex.sha256}});
    }
    for (const auto& u : cfg.upstreams) {
        srv.add_upstream(std::make_unique<server::Upstream>(u));
        started.push_back({{"upstream", u.name}, {"base_url", u.base_url}, {"models", u.models}});
    }
    srv.set_routes(cfg.routes);
    if (cfg.shadow) {
        const server::ShadowConfig& sh = *cfg.shadow;
        std::unique_ptr<server::ShadowCandidate> cand;
        if (server::ModelWorker* w = srv.model_worker(sh.candidate)) {
            cand = server::local_shadow_candidate(*w, srv.model_extras(sh.candidate)->sha256, sh.timeout_s,
                                                  [&srv] { return srv.models_busy(); });
        } else {
            for (const auto& u : cfg.upstreams)
                if (std::find(u.models.begin(), u.models.end(), sh.candidate) != u.models.end())
                    cand = server::upstream_shadow_candidate(u, sh.candidate, sh.timeout_s);
        }
        // Pairs hold prompts and answers: they follow the audit log's content policy unless told.
        const auto content = sh.content.value_or(cfg.audit ? cfg.audit->content : server::AuditContent::Full);
        srv.set_shadow(std::make_unique<server::ShadowMirror>(sh, content, std::move(cand), &srv.metrics()));
        std::fprintf(stderr, "hearth serve: shadow: %.4g of \"%s\" mirrored to \"%s\" -> %s (%s%s)\n", sh.sample,
                     sh.primary.c_str(), sh.candidate.c_str(), sh.path.c_str(), server::to_string(content),
                     content == server::AuditContent::Hashes ? ": pairs cannot be graded" : "");
    }
    if (audit) {
        audit->append_start(started);
        srv.set_audit_log(std::move(audit));
    }

    int port = srv.bind();
    std::fprintf(stderr, "hearth serve: %zu model%s (%s), %d threads, %lld parallel sequences of context %lld\n",
                 cfg.models.size(), cfg.models.size() == 1 ? "" : "s", [&] {
                     std::string s;
                     for (const auto& a : seen) s += (s.empty() ? "" : ", ") + a;
                     return s;
                 }().c_str(),
                 threads, static_cast<long long>(o.parallel), static_cast<long long>(cfg.models.front().ctx));
    for (const auto& u : cfg.upstreams)
        std::fprintf(stderr, "hearth serve: upstream %s at %s for %zu model(s)\n", u.name.c_str(), u.base_url.c_str(),
                     u.models.size());
    if (cfg.offline) std::fprintf(stderr, "hearth serve: offline: no upstreams, no outbound connections\n");
    if (srv.audit_log())
        std::fprintf(stderr, "hearth serve: audit log %s (%s, fsync %s%s), last seq %llu\n", cfg.audit->path.c_str(),
                     server::to_string(cfg.audit->content), server::to_string(cfg.audit->fsync),
                     cfg.audit->hmac_key_file.empty() ? "" : ", hmac-sha256",
                     static_cast<unsigned long long>(srv.audit_log()->last_seq()));
    std::fprintf(stderr, "hearth serve: listening on http://%s:%d\n", cfg.host.c_str(), port);
    if (cfg.web_ui) std::fprintf(stderr, "hearth serve: chat page at http://%s:%d/ (--no-web-ui to turn it off)\n",
                                 cfg.host.c_str(), port);
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
    sub->add_option("-m,--model", o->models, "GGUF model file (repeat for several models; or [[models]] in --config)");
    sub->add_option("--config", o->config,
                    "TOML config: [server], [audit], [[models]], [routes], [[keys]], [[upstreams]], [shadow] (see "
                    "src/server/config.h)");
    sub->add_flag("--hash-key", o->hash_key,
                  "print the SHA-256 of the API key read from standard input (for [[keys]] sha256) and exit");
    sub->add_option("--alias", o->aliases, "name clients use for the model, one per -m (default: the file stem)");
    sub->add_option("--host", o->host, "address to listen on (default 127.0.0.1, or [server] listen)");
    sub->add_option("--port", o->port, "TCP port (default 8080; 0: any free port, printed on start)")
        ->check(CLI::Range(0, 65535));
    sub->add_option("--api-key", o->api_keys,
                    "accept this key as 'Authorization: Bearer KEY' (repeatable); without keys the API is open");
    sub->add_option("--api-key-file", o->api_key_file, "file of API keys, one per line ('#' comments)");
    sub->add_option("-t,--threads", o->threads, "CPU threads per model (default: all cores)")->check(CLI::Range(0, 1024));
    sub->add_option("-c,--ctx-size", o->ctx, "context length in tokens per model (default 4096, at most the model's)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    sub->add_option("-b,--batch-size", o->batch, "prompt tokens per scheduler step, all sequences together")
        ->check(CLI::Range(1, 8192));
    add_ubatch_option(*sub, o->ubatch);
    sub->add_option("--kv-type", o->kv_type, "KV cache element type: f16 (default) or f32")
        ->check(CLI::IsMember({"f16", "f32"}));
    sub->add_option("--pooling", o->pooling,
                    "how /v1/embeddings pools the final hidden states of an input's tokens: mean (default) or last")
        ->check(CLI::IsMember({"mean", "last"}));
    sub->add_option("--max-queue", o->max_queue, "requests that may wait per model; more get 429")
        ->check(CLI::Range(size_t{1}, size_t{1} << 20))
        ->capture_default_str();
    sub->add_option("--parallel", o->parallel,
                    "requests generated together per model (continuous batching); each has its own KV cache of "
                    "--ctx-size tokens")
        ->check(CLI::Range(int64_t{1}, int64_t{256}))
        ->capture_default_str();
    sub->add_option("--request-timeout", o->request_timeout,
                    "seconds a request may take from arrival; then generation stops with the text so far "
                    "(finish_reason \"length\"); 0: no limit")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    sub->add_option("--max-body-bytes", o->max_body_bytes, "largest request body accepted (default 8 MiB); larger get 413")
        ->check(CLI::Range(size_t{64}, size_t{1} << 32));
    sub->add_flag("--offline", o->offline,
                  "no egress: refuse to start if the config names any [[upstreams]] (the server then opens no "
                  "outbound connection)");
    sub->add_flag("--no-web-ui", o->no_web_ui,
                  "do not serve the chat page at / (and /static/, /js/); the same as [server] web_ui = false");
    sub->add_option("--audit-log", o->audit_log,
                    "append a hash-chained record of every generation request to this file ([audit] path); "
                    "check it with `hearth log verify`");
    sub->add_option("--audit-content", o->audit_content, "full (prompt and response text, default) or hashes (SHA-256 only)")
        ->check(CLI::IsMember({"full", "hashes"}));
    sub->add_option("--audit-fsync", o->audit_fsync,
                    "every (default: each record is on disk before the response ends), interval (1 s), none")
        ->check(CLI::IsMember({"every", "interval", "none"}));
    sub->add_option("--audit-hmac-key-file", o->audit_hmac_key_file,
                    "sign records with HMAC-SHA-256 under this key, so the log cannot be re-chained without it");
    sub->callback([o] { serve(*o); });
}

}  // namespace hearth::cli
