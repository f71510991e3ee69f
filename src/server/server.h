#pragma once
// hearth's OpenAI-compatible HTTP server:
//   GET  /health                 liveness ({"status":"ok"}), never behind the API key
//   GET  /metrics                Prometheus text
//   GET  /v1/models, /v1/models/{id}
//   POST /v1/chat/completions    (stream: true -> server-sent events)
//   POST /v1/completions
//   POST /v1/embeddings          (pooled final hidden states, L2-normalised)
//   GET  /, /static/*, /js/*     the chat page (server/web_ui.h), never behind the API key
// Errors use OpenAI's shape {"error": {"message", "type", "param", "code"}}.
// Every request to the generation and embedding routes, whatever its outcome (401, 403, 429, errors,
// cancellations), ends in one audit-log record when a log is set.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/audit_log.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/model_worker.h"
#include "server/upstream.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace hearth::server {

class ShadowMirror;

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (see Server::port())
    size_t max_body_bytes = 8u << 20;
    int http_threads = 0;  // 0: enough for every queue slot plus a few for /health and refusals
    bool offline = false;  // add_upstream() refuses
    bool web_ui = true;    // the chat page at / (server/web_ui.h)
};

// What the server knows about a local model beyond its worker.
struct ModelExtras {
    std::string sha256;  // of the GGUF file, for the audit log
    SamplingDefaults sampling;
};

class Server {
public:
    Server(const ServerOptions& opt, ApiKeys keys);
    ~Server();

    // Models are owned by the server; add them before bind().
    void add_model(std::unique_ptr<ModelWorker> w, ModelExtras extras = {});
    // Throws hearth::Error when the server is offline.
    void add_upstream(std::unique_ptr<Upstream> u);
    void set_routes(std::map<std::string, std::string> routes) { routes_ = std::move(routes); }
    void set_audit_log(std::unique_ptr<AuditLog> log) { audit_ = std::move(log); }
    AuditLog* audit_log() { return audit_.get(); }
    // Shadow evaluation (server/shadow.h): mirrors a sampled share of a model's requests.
    void set_shadow(std::unique_ptr<ShadowMirror> s);
    ModelWorker* model_worker(const std::string& alias) const { return find_model(alias); }
    // Whether any local model is running or queueing a request (the shadow waits for none).
    bool models_busy() const;
    const ModelExtras* model_extras(const std::string& alias) const;
    Metrics& metrics() { return metrics_; }

    // Binds the socket (throws hearth::Error if it cannot) and returns the port.
    int bind();
    int port() const { return port_; }
    // Serves until stop() (from another thread). Returns when the listener has closed.
    void run();
    void stop();

    // The endpoint label for metrics: the route's path, or "other".
    static std::string endpoint_label(const std::string& path);

private:
    void setup_routes();
    ModelWorker* find_model(const std::string& alias) const;
    void handle_generate(const httplib::Request& req, httplib::Response& res, Endpoint e);
    void handle_embeddings(const httplib::Request& req, httplib::Response& res);
    const KeyPolicy* request_key(const httplib::Request& req) const;
    const Upstream* find_upstream(const std::string& model) const;
    void write_audit(AuditEntry& a, std::chrono::steady_clock::time_point t0);

    ServerOptions opt_;
    ApiKeys keys_;
    Metrics metrics_;
    RateLimiter limiter_;
    std::vector<std::unique_ptr<ModelWorker>> models_;
    std::map<std::string, ModelExtras> extras_;  // by alias
    std::vector<std::unique_ptr<Upstream>> upstreams_;
    std::map<std::string, std::string> routes_;
    std::unique_ptr<AuditLog> audit_;
    std::unique_ptr<ShadowMirror> shadow_;  // ends before the models stop (~Server)
    std::unique_ptr<httplib::Server> http_;
    int port_ = 0;
    int64_t started_ = 0;
};

}  // namespace hearth::server
