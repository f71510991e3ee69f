#include "server/server.h"

#include <csignal>
#include <cstdio>
#include <ctime>

#include "audit/hash.h"
#include "core/error.h"
#include "model/model.h"
#include "format/gguf.h"
#include "server/http.h"

namespace hearth::server {

namespace {

using httplib::Request;
using httplib::Response;

void send_json(Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(Response& res, const ApiError& e) { send_json(res, e.status, error_body(e)); }

// The routes and the methods they take; a known path with another method is a 405.
std::string allowed_methods(const std::string& path) {
    if (path == "/health" || path == "/metrics" || path == "/v1/models") return "GET, HEAD";
    if (path.rfind("/v1/models/", 0) == 0 && path.size() > 11) return "GET, HEAD";
    if (path == "/v1/chat/completions" || path == "/v1/completions") return "POST";
    return "";
}

std::string status_text(int status) {
    switch (status) {
        case 400: return "bad request: the HTTP request could not be read";
        case 404: return "not found";
        case 405: return "method not allowed";
        case 408: return "request timeout";
        case 413: return "request body too large";
        case 414: return "URI too long";
        case 416: return "range not satisfiable";
        case 431: return "request header fields too large";
        default: return "HTTP error " + std::to_string(status);
    }
}

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

bool is_generation_route(const std::string& path) {
    return path == "/v1/chat/completions" || path == "/v1/completions";
}

json model_json(const ModelWorker& w, int64_t created) {
    return json{{"id", w.alias()},
                {"object", "model"},
                {"created", created},
                {"owned_by", "hearth"},
                {"meta",
                 {{"path", w.path()},
                  {"architecture", w.model().arch().name},
                  {"name", w.model().file().get_string("general.name", "")},
                  {"n_ctx", w.n_ctx()},
                  {"n_params", w.model().n_params()},
                  {"chat_template", w.has_own_template() ? "model" : "fallback-chatml"}}}};
}

}  // namespace

std::string Server::endpoint_label(const std::string& path) {
    if (path.rfind("/v1/models/", 0) == 0 && path.size() > 11) return "/v1/models/{id}";
    if (!allowed_methods(path).empty()) return path;
    return "other";
}

Server::Server(const ServerOptions& opt, ApiKeys keys)
    : opt_(opt), keys_(std::move(keys)), http_(std::make_unique<httplib::Server>()), started_(now_seconds()) {
    // A client that goes away mid-stream must fail the write, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
}

Server::~Server() {
    stop();
    for (auto& m : models_) m->stop();
}

void Server::add_model(std::unique_ptr<ModelWorker> w, ModelExtras extras) {
    extras_[w->alias()] = std::move(extras);
    models_.push_back(std::move(w));
}

void Server::add_upstream(std::unique_ptr<Upstream> u) {
    if (opt_.offline)
        throw Error("offline: refusing upstream '" + u->name() + "' (" + u->base_url() +
                    "); remove it from the config or drop --offline / [server] offline");
    upstreams_.push_back(std::move(u));
}

const Upstream* Server::find_upstream(const std::string& model) const {
    for (const auto& u : upstreams_)
        if (u->serves(model)) return u.get();
    return nullptr;
}

const KeyPolicy* Server::request_key(const Request& req) const {
    if (keys_.empty() || !req.has_header("Authorization")) return nullptr;
    const std::string header = req.get_header_value("Authorization");  // bearer() views into it
    auto key = ApiKeys::bearer(header);
    return key ? keys_.find(*key) : nullptr;
}

void Server::write_audit(AuditEntry& a, std::chrono::steady_clock::time_point t0) {
    if (!audit_) return;
    a.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    try {
        audit_->append_request(a);
    } catch (const std::exception& e) {
        // The log is now unusable; generation requests get 503 from here on (healthy() is false).
        std::fprintf(stderr, "hearth serve: AUDIT LOG FAILURE: %s\n", e.what());
    }
}

ModelWorker* Server::find_model(const std::string& alias) const {
    for (const auto& m : models_)
        if (m->alias() == alias) return m.get();
    return nullptr;
}

int Server::bind() {
    setup_routes();
    if (opt_.port == 0) {
        port_ = http_->bind_to_any_port(opt_.host);
        if (port_ <= 0) throw Error("cannot listen on " + opt_.host + " (any port)");
    } else {
        if (!http_->bind_to_port(opt_.host, opt_.port))
            throw Error("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) +
                        " (in use, or not an address of this machine?)");
        port_ = opt_.port;
    }
    return port_;
}

void Server::run() { http_->listen_after_bind(); }

void Server::stop() {
    if (http_) http_->stop();
}

void Server::setup_routes() {
    httplib::Server& s = *http_;
    size_t threads = opt_.http_threads > 0 ? static_cast<size_t>(opt_.http_threads) : 8;
    if (opt_.http_threads <= 0)
        threads += 64 * models_.size();  // generous: idle keep-alive connections hold threads too
    s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    s.set_payload_max_length(opt_.max_body_bytes);
    s.set_keep_alive_timeout(5);
    s.set_read_timeout(30);

    s.set_pre_routing_handler([this](const Request& req, Response& res) {
        if (keys_.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
        const auto t0 = std::chrono::steady_clock::now();
        auto refuse = [&](const std::string& msg) {
            res.set_header("WWW-Authenticate", "Bearer");
            ApiError err(401, msg, "invalid_request_error", "", "invalid_api_key");
            send_error(res, err);
            if (audit_ && req.method == "POST" && is_generation_route(req.path)) {
                AuditEntry a;
                a.route = req.path;
                a.status = 401;
                a.error = msg;
                a.finish_reason = "error";
                write_audit(a, t0);
            }
            return httplib::Server::HandlerResponse::Handled;
        };
        if (!req.has_header("Authorization"))
            return refuse("missing API key: send the header 'Authorization: Bearer KEY'");
        if (!request_key(req)) return refuse("invalid API key");
        return httplib::Server::HandlerResponse::Unhandled;
    });

    s.Get("/health", [](const Request&, Response& res) { send_json(res, 200, json{{"status", "ok"}}); });

    s.Get("/metrics", [this](const Request&, Response& res) {
        std::vector<Metrics::QueueGauge> q;
        for (const auto& m : models_) q.push_back({m->alias(), m->waiting(), m->running()});
        res.status = 200;
        res.set_content(metrics_.render(q), "text/plain; version=0.0.4; charset=utf-8");
    });

    // Models a key may not use are not listed (and not found).
    auto listing = [this](const Request& req) {
        const KeyPolicy* key = request_key(req);
        auto visible = [&](const std::string& name, const std::string& target) {
            return !key || key->allows(name, target);
        };
        json data = json::array();
        for (const auto& m : models_)
            if (visible(m->alias(), m->alias())) data.push_back(model_json(*m, started_));
        for (const auto& u : upstreams_)
            for (const auto& name : u->models())
                if (visible(name, name))
                    data.push_back(json{{"id", name}, {"object", "model"}, {"created", started_},
                                        {"owned_by", "upstream:" + u->name()}});
        for (const auto& [task, target] : routes_)
            if (visible(task, target))
                data.push_back(json{{"id", task}, {"object", "model"}, {"created", started_}, {"owned_by", "hearth"},
                                    {"meta", {{"route_to", target}}}});
        return data;
    };
    s.Get("/v1/models", [listing](const Request& req, Response& res) {
        send_json(res, 200, json{{"object", "list"}, {"data", listing(req)}});
    });

    s.Get(R"(/v1/models/(.+))", [listing](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        for (const auto& m : listing(req))
            if (m["id"] == id) return send_json(res, 200, m);
        send_error(res, ApiError(404, "the model '" + id + "' does not exist", "invalid_request_error", "model",
                                 "model_not_found"));
    });

    s.Post("/v1/chat/completions",
           [this](const Request& req, Response& res) { handle_generate(req, res, Endpoint::Chat); });
    s.Post("/v1/completions",
           [this](const Request& req, Response& res) { handle_generate(req, res, Endpoint::Completion); });

    auto fallback = [](const Request& req, Response& res) {
        const std::string allowed = allowed_methods(req.path);
        if (!allowed.empty()) {
            res.set_header("Allow", allowed);
            send_error(res, ApiError(405, "method " + req.method + " is not allowed on " + req.path + " (use " +
                                              allowed + ")",
                                     "invalid_request_error", "", "method_not_allowed"));
        } else {
            send_error(res, ApiError(404, "no such route: " + req.method + " " + req.path, "not_found_error", "",
                                     "unknown_route"));
        }
    };
    s.Get(".*", fallback);
    s.Post(".*", fallback);
    s.Put(".*", fallback);
    s.Patch(".*", fallback);
    s.Delete(".*", fallback);
    s.Options(".*", fallback);

    // Statuses httplib sets itself (413 body too large, 400 unreadable request, ...) get
    // OpenAI's error shape too.
    s.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg = status_text(res.status);
        std::string code;
        if (res.status == 413) {
            msg = "the request body is larger than the limit of " + std::to_string(opt_.max_body_bytes) +
                  " bytes (--max-body-bytes)";
            code = "body_too_large";
        }
        send_error(res, ApiError(res.status, msg, error_type_for_status(res.status), "", code));
        // Requests refused before any handler ran (413, unreadable): audited on the generation routes.
        if (audit_ && req.method == "POST" && is_generation_route(req.path)) {
            AuditEntry a;
            a.route = req.path;
            if (const KeyPolicy* k = request_key(req)) a.key_id = k->id;
            a.status = res.status;
            a.error = msg;
            a.finish_reason = "error";
            write_audit(a, std::chrono::steady_clock::now());
        }
        return httplib::Server::HandlerResponse::Handled;
    }));
    s.set_exception_handler([](const Request&, Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = std::string("internal error: ") + e.what();
        } catch (...) {
        }
        send_error(res, ApiError(500, what, "server_error"));
    });
    s.set_logger([this](const Request& req, const Response& res) {
        metrics_.count_request(endpoint_label(req.path), res.status);
    });
}

namespace {

// The request's prompt as the audit log holds it: chat messages, or the completion prompt.
json audit_prompt(const CompletionRequest& r) {
    if (r.endpoint == Endpoint::Chat) return r.messages;
    if (r.prompt_is_tokens) return json(r.prompt_tokens);
    return json(r.prompt);
}

// Shared by a streamed response's provider and releaser; the record is written once.
struct StreamAudit {
    AuditEntry entry;
    bool written = false;
};

}  // namespace

void Server::handle_generate(const Request& req, Response& res, Endpoint e) {
    const auto t0 = std::chrono::steady_clock::now();
    auto audit = std::make_shared<StreamAudit>();
    AuditEntry& a = audit->entry;
    a.route = req.path;
    a.request_sha256 = audit::sha256_hex(req.body);
    a.request_id = new_id(e == Endpoint::Chat ? "chatcmpl-" : "cmpl-");
    const KeyPolicy* key = request_key(req);
    if (key) a.key_id = key->id;
    auto refuse = [&](const ApiError& err) {
        send_error(res, err);
        a.status = err.status;
        a.error = err.what();
        a.finish_reason = "error";
        write_audit(a, t0);
    };

    CompletionRequest r;
    ModelWorker* w = nullptr;
    const Upstream* up = nullptr;
    std::string target;
    auto job = std::make_shared<Job>();
    try {
        if (audit_ && !audit_->healthy())
            throw ApiError(503, "the audit log cannot be written; generation is refused until the server is restarted",
                           "server_error", "", "audit_log_unavailable");
        if (key && key->max_request_bytes > 0 && req.body.size() > key->max_request_bytes)
            throw ApiError(413, "the request body (" + std::to_string(req.body.size()) + " bytes) is larger than key '" +
                                    key->id + "' may send (" + std::to_string(key->max_request_bytes) + " bytes)",
                           "invalid_request_error", "", "request_too_large");
        r = e == Endpoint::Chat ? parse_chat_request(req.body) : parse_completion_request(req.body);
        a.model = r.model;
        a.prompt = audit_prompt(r);
        auto route = routes_.find(r.model);
        target = route != routes_.end() ? route->second : r.model;
        if (key && !key->allows(r.model, target))
            throw ApiError(403, "key '" + key->id + "' may not use the model '" + r.model + "'", "permission_error",
                           "model", "model_not_allowed");
        up = find_upstream(target);
        if (!up) {
            w = find_model(target);
            if (!w)
                throw ApiError(404, "the model '" + r.model + "' does not exist", "invalid_request_error", "model",
                               "model_not_found");
            a.served_by = w->alias();
            auto ex = extras_.find(w->alias());
            if (ex != extras_.end()) {
                a.model_sha256 = ex->second.sha256;
                apply_defaults(r, ex->second.sampling);
            }
            job->prompt = w->prompt_tokens(r);
            a.prompt_tokens = static_cast<int64_t>(job->prompt.size());
        } else {
            a.served_by = "upstream:" + up->name();
        }
        if (key && key->tokens_per_minute > 0) {
            if (int wait = limiter_.admit(key->id, key->tokens_per_minute, a.prompt_tokens); wait > 0) {
                res.set_header("Retry-After", std::to_string(wait));
                throw ApiError(429,
                               "key '" + key->id + "' is over its rate limit of " +
                                   std::to_string(static_cast<int64_t>(key->tokens_per_minute)) +
                                   " tokens per minute; retry in " + std::to_string(wait) + " s",
                               "rate_limit_error", "", "rate_limit_exceeded");
            }
        }
    } catch (const ApiError& err) {
        return refuse(err);
    } catch (const std::exception& ex) {
        return refuse(ApiError(500, std::string("internal error: ") + ex.what(), "server_error"));
    }

    if (up) {
        // The upstream sees its own model name when the request came through a route.
        std::string body = req.body;
        if (target != r.model) {
            json j = json::parse(req.body);
            j["model"] = target;
            body = j.dump();
        }
        const bool stream = r.stream;
        const std::string api_path = req.path.substr(3);  // "/v1/chat/completions" -> "/chat/completions"
        const std::string key_id = key ? key->id : "";
        const double tpm = key ? key->tokens_per_minute : 0;
        up->forward(api_path, body, stream, res, [this, audit, t0, stream, key_id, tpm](const UpstreamOutcome& o) {
            AuditEntry& a = audit->entry;
            const UpstreamUsage u = read_upstream_body(o.body, stream);
            a.status = o.status;
            a.response = u.text;
            a.prompt_tokens = u.prompt_tokens;
            a.completion_tokens = u.completion_tokens;
            a.finish_reason = o.cancelled ? "cancelled" : o.status == 200 ? u.finish_reason : "error";
            a.error = o.error.empty() && o.status != 200 ? o.body.substr(0, 2000) : o.error;
            if (tpm > 0) limiter_.charge(key_id, tpm, u.prompt_tokens + u.completion_tokens);
            write_audit(a, t0);
        });
        return;
    }

    job->gen = r.gen;
    if (r.grammar) {  // response_format {"type": "grammar"}
        job->constraint = std::make_shared<chat::GrammarConstraint>(r.grammar, chat::TokenIndex::build(w->model().tokenizer()));
        job->gen.constraint = job->constraint.get();
    }
    job->channel = std::make_shared<RequestChannel>();
    auto ch = job->channel;
    switch (w->submit(job)) {
        case ModelWorker::Submit::Ok: break;
        case ModelWorker::Submit::QueueFull:
            metrics_.count_rejected(w->alias());
            res.set_header("Retry-After", "1");
            return refuse(ApiError(429, "model '" + w->alias() + "' is busy: its request queue is full; retry later",
                                   "rate_limit_error", "", "queue_full"));
        case ModelWorker::Submit::Stopped:
            return refuse(ApiError(503, "the server is shutting down", "server_error", "", "shutting_down"));
    }

    ResponseMeta meta{a.request_id, now_seconds(), w->alias()};
    const std::string key_id = key ? key->id : "";
    const double tpm = key ? key->tokens_per_minute : 0;

    if (!r.stream) {
        if (!ch->wait_done()) {
            const auto& g = ch->result();
            a.completion_tokens = static_cast<int64_t>(g.tokens.size());
            if (tpm > 0) limiter_.charge(key_id, tpm, a.completion_tokens);
            return refuse(ApiError(500, "generation failed: " + ch->error(), "server_error"));
        }
        const auto& g = ch->result();
        Usage u{g.n_prompt, static_cast<int64_t>(g.tokens.size())};
        const std::string fin = finish_reason(g.finish_reason);
        send_json(res, 200, e == Endpoint::Chat ? chat_completion(meta, g.text, fin, u)
                                                : text_completion(meta, g.text, fin, u));
        if (tpm > 0) limiter_.charge(key_id, tpm, u.completion);
        a.status = 200;
        a.response = g.text;
        a.prompt_tokens = u.prompt;
        a.completion_tokens = u.completion;
        a.finish_reason = fin;
        return write_audit(a, t0);
    }

    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    const bool include_usage = r.include_usage;
    a.status = 200;
    res.set_chunked_content_provider(
        "text/event-stream",
        [ch, meta, e, include_usage, audit](size_t, httplib::DataSink& sink) {
            auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
            bool ok = true;
            if (e == Endpoint::Chat) ok = write(sse_event(chat_chunk(meta, {{"role", "assistant"}, {"content", ""}}, "")));
            bool done = false;
            while (ok && !done) {
                std::string text;
                done = ch->wait(text, std::chrono::milliseconds(200));
                audit->entry.response += text;
                if (!text.empty())
                    ok = write(sse_event(e == Endpoint::Chat ? chat_chunk(meta, {{"content", text}}, "")
                                                             : text_chunk(meta, text, "")));
            }
            if (!ok) {
                ch->cancel();  // the client went away: the next token's callback stops generation
                return false;
            }
            if (!ch->error().empty()) {
                audit->entry.error = ch->error();
                write(sse_event(error_body(ApiError(500, "generation failed: " + ch->error(), "server_error"))));
            } else {
                const auto& g = ch->result();
                const std::string fin = finish_reason(g.finish_reason);
                write(sse_event(e == Endpoint::Chat ? chat_chunk(meta, json::object(), fin) : text_chunk(meta, "", fin)));
                if (include_usage)
                    write(sse_event(usage_chunk(meta, e, Usage{g.n_prompt, static_cast<int64_t>(g.tokens.size())})));
            }
            write(std::string(kSseDone));
            sink.done();
            return true;
        },
        // Runs once the response is over, however it ended: the record is written here.
        [this, ch, audit, t0, key_id, tpm](bool success) {
            ch->cancel();
            AuditEntry& a = audit->entry;
            // A cancelled generation stops at its next token; give it a moment to report its count.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            bool done = false;
            std::string rest;
            while (!done && std::chrono::steady_clock::now() < deadline)
                done = ch->wait(rest, std::chrono::milliseconds(100));
            if (done) {
                const auto& g = ch->result();
                a.completion_tokens = static_cast<int64_t>(g.tokens.size());
                if (g.n_prompt > 0) a.prompt_tokens = g.n_prompt;
                if (success && ch->error().empty()) a.finish_reason = finish_reason(g.finish_reason);
            }
            if (!success) {
                a.finish_reason = "cancelled";
                if (a.error.empty()) a.error = "the client went away before the response was complete";
            } else if (!ch->error().empty()) {
                a.finish_reason = "error";
                a.error = ch->error();
            }
            if (tpm > 0) limiter_.charge(key_id, tpm, a.completion_tokens);
            if (!audit->written) {
                audit->written = true;
                write_audit(a, t0);
            }
        });
}

}  // namespace hearth::server
