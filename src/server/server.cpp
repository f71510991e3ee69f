#include "server/server.h"

#include <csignal>
#include <ctime>

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

void Server::add_model(std::unique_ptr<ModelWorker> w) { models_.push_back(std::move(w)); }

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
        if (!req.has_header("Authorization")) {
            res.set_header("WWW-Authenticate", "Bearer");
            send_error(res, ApiError(401, "missing API key: send the header 'Authorization: Bearer KEY'",
                                     "invalid_request_error", "", "invalid_api_key"));
            return httplib::Server::HandlerResponse::Handled;
        }
        const std::string header = req.get_header_value("Authorization");
        auto key = ApiKeys::bearer(header);
        if (!key || !keys_.check(*key)) {
            res.set_header("WWW-Authenticate", "Bearer");
            send_error(res, ApiError(401, "invalid API key", "invalid_request_error", "", "invalid_api_key"));
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    s.Get("/health", [](const Request&, Response& res) { send_json(res, 200, json{{"status", "ok"}}); });

    s.Get("/metrics", [this](const Request&, Response& res) {
        std::vector<Metrics::QueueGauge> q;
        for (const auto& m : models_) q.push_back({m->alias(), m->waiting(), m->running()});
        res.status = 200;
        res.set_content(metrics_.render(q), "text/plain; version=0.0.4; charset=utf-8");
    });

    s.Get("/v1/models", [this](const Request&, Response& res) {
        json data = json::array();
        for (const auto& m : models_) data.push_back(model_json(*m, started_));
        send_json(res, 200, json{{"object", "list"}, {"data", data}});
    });

    s.Get(R"(/v1/models/(.+))", [this](const Request& req, Response& res) {
        const std::string id = req.matches[1];
        if (ModelWorker* m = find_model(id)) return send_json(res, 200, model_json(*m, started_));
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
    s.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request&, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg = status_text(res.status);
        std::string code;
        if (res.status == 413) {
            msg = "the request body is larger than the limit of " + std::to_string(opt_.max_body_bytes) +
                  " bytes (--max-body-bytes)";
            code = "body_too_large";
        }
        send_error(res, ApiError(res.status, msg, error_type_for_status(res.status), "", code));
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

void Server::handle_generate(const Request& req, Response& res, Endpoint e) {
    CompletionRequest r;
    ModelWorker* w = nullptr;
    auto job = std::make_shared<Job>();
    try {
        r = e == Endpoint::Chat ? parse_chat_request(req.body) : parse_completion_request(req.body);
        w = find_model(r.model);
        if (!w)
            throw ApiError(404, "the model '" + r.model + "' does not exist", "invalid_request_error", "model",
                           "model_not_found");
        job->prompt = w->prompt_tokens(r);
    } catch (const ApiError& err) {
        return send_error(res, err);
    }
    job->gen = r.gen;
    job->channel = std::make_shared<RequestChannel>();
    auto ch = job->channel;
    switch (w->submit(job)) {
        case ModelWorker::Submit::Ok: break;
        case ModelWorker::Submit::QueueFull:
            metrics_.count_rejected(w->alias());
            res.set_header("Retry-After", "1");
            return send_error(res, ApiError(429, "model '" + w->alias() + "' is busy: its request queue is full; retry later",
                                            "rate_limit_error", "", "queue_full"));
        case ModelWorker::Submit::Stopped:
            return send_error(res, ApiError(503, "the server is shutting down", "server_error", "", "shutting_down"));
    }

    ResponseMeta meta{new_id(e == Endpoint::Chat ? "chatcmpl-" : "cmpl-"), now_seconds(), w->alias()};

    if (!r.stream) {
        if (!ch->wait_done()) return send_error(res, ApiError(500, "generation failed: " + ch->error(), "server_error"));
        const auto& g = ch->result();
        Usage u{g.n_prompt, static_cast<int64_t>(g.tokens.size())};
        const std::string fin = finish_reason(g.finish_reason);
        return send_json(res, 200, e == Endpoint::Chat ? chat_completion(meta, g.text, fin, u)
                                                       : text_completion(meta, g.text, fin, u));
    }

    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    const bool include_usage = r.include_usage;
    res.set_chunked_content_provider(
        "text/event-stream",
        [ch, meta, e, include_usage](size_t, httplib::DataSink& sink) {
            auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
            bool ok = true;
            if (e == Endpoint::Chat) ok = write(sse_event(chat_chunk(meta, {{"role", "assistant"}, {"content", ""}}, "")));
            bool done = false;
            while (ok && !done) {
                std::string text;
                done = ch->wait(text, std::chrono::milliseconds(200));
                if (!text.empty())
                    ok = write(sse_event(e == Endpoint::Chat ? chat_chunk(meta, {{"content", text}}, "")
                                                             : text_chunk(meta, text, "")));
            }
            if (!ok) {
                ch->cancel();  // the client went away: the next token's callback stops generation
                return false;
            }
            if (!ch->error().empty()) {
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
        [ch](bool) { ch->cancel(); });
}

}  // namespace hearth::server
