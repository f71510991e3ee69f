#pragma once
// `hearth serve --config FILE`: the server's TOML configuration.
//
//   [server]    listen = "127.0.0.1:8080", offline = false, max_body_bytes, http_threads,
//               web_ui = true (the chat page at /)
//   [audit]     path, content = "full"|"hashes", fsync = "every"|"interval"|"none",
//               fsync_interval_ms, hmac_key_file
//   [[models]]  path, alias, ctx, threads, batch, ubatch, kv_type, max_queue, max_sequences,
//               pooling = "mean"|"last" (how /v1/embeddings pools token states),
//               [models.sampling] temperature, top_p, top_k, min_p, repeat_penalty,
//               presence_penalty, frequency_penalty, max_tokens (used when a request omits them)
//   [routes]    TASK = "ALIAS"   (a request whose "model" is TASK goes to ALIAS)
//   [[keys]]    id, sha256 (hex digest of the key: `hearth serve --hash-key`), models (allowed
//               names; absent = all), max_request_bytes, tokens_per_minute
//   [[upstreams]] name, base_url, models, api_key_file (sent upstream as a Bearer key)
//   [shadow]    primary (alias, upstream model or route mirrored), candidate (alias or upstream
//               model), sample (0..1), seed, path (pairs JSONL), content = "full"|"hashes"
//               (default: [audit]'s, else full), max_pending, timeout_s (server/shadow.h)
// Unknown keys and wrong types are errors naming the file, line and key.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/api.h"
#include "server/audit_log.h"

namespace hearth::server {

struct ModelConfig {
    std::string path;
    std::string alias;  // default: the file stem
    int64_t ctx = 4096;
    int threads = 0;  // 0: all cores
    int64_t batch = 256;
    int64_t ubatch = 0;  // rows per forward pass (Model::set_rows_per_pass); 0: automatic
    std::string kv_type = "f16";
    size_t max_queue = 16;
    int max_sequences = 0;  // 0: the worker's default
    std::string pooling = "mean";  // /v1/embeddings: "mean" or "last" (engine/embedding.h)
    SamplingDefaults sampling;
};

struct KeyConfig {
    std::string id;
    std::string sha256;               // 64 hex digits
    std::vector<std::string> models;  // empty: every model and route
    size_t max_request_bytes = 0;     // 0: only the server's limit
    double tokens_per_minute = 0;     // 0: unlimited
};

struct UpstreamConfig {
    std::string name;
    std::string base_url;  // http(s)://host[:port][/prefix], e.g. http://10.0.0.5:8000/v1
    std::vector<std::string> models;
    std::string api_key_file;
};

struct AuditConfig {
    std::string path;
    AuditContent content = AuditContent::Full;
    AuditFsync fsync = AuditFsync::Every;
    int fsync_interval_ms = 1000;
    std::string hmac_key_file;
};

// Shadow evaluation (server/shadow.h): a sampled share of the requests for `primary` is sent
// again, after the primary has answered, to `candidate`, and both answers are recorded.
struct ShadowConfig {
    std::string primary;    // a [[models]] alias, an upstream model or a [routes] name
    std::string candidate;  // a [[models]] alias or an upstream model (never a route)
    double sample = 0;      // share of the primary's requests mirrored (server/shadow.h: which ones)
    uint64_t seed = 0;      // changes which requests a given share picks
    std::string path;       // the pairs file (JSON lines)
    std::optional<AuditContent> content;  // unset: [audit] content, else full
    size_t max_pending = 4;  // pairs waiting or running; more are dropped (and counted)
    double timeout_s = 300;  // the most one candidate answer may take
    // Where the keys were, for the cross-checks' messages (0: not from a file).
    int64_t line = 0, primary_line = 0, candidate_line = 0;
};

struct ServeConfig {
    std::string host = "127.0.0.1";
    int port = 8080;
    bool offline = false;
    bool web_ui = true;  // the chat page at / (server/web_ui)
    size_t max_body_bytes = 8u << 20;
    int http_threads = 0;
    std::optional<AuditConfig> audit;
    std::vector<ModelConfig> models;
    std::map<std::string, std::string> routes;
    std::vector<KeyConfig> keys;
    std::vector<UpstreamConfig> upstreams;
    std::optional<ShadowConfig> shadow;
};

// Parses TOML text; `source` names it in errors. Relative paths (models, audit log, key
// files) are resolved against `base_dir` when it is non-empty. Throws hearth::Error.
// Cross-checks are left to validate_serve_config, which runs once command-line models are added.
ServeConfig parse_serve_config(std::string_view text, const std::string& source, const std::string& base_dir = "");
ServeConfig load_serve_config(const std::string& path);

// "HOST:PORT" or "[V6]:PORT" -> host, port. Throws hearth::Error.
std::pair<std::string, int> parse_listen(const std::string& s);

// Cross-checks: aliases unique, routes name a model or an upstream model and do not shadow
// one, key model lists name something served, upstream models do not collide with local ones,
// the shadow's primary and candidate are served and are not the same model.
void validate_serve_config(const ServeConfig& c, const std::string& source);

}  // namespace hearth::server
