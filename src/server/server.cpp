#include "server/server.h"

#include <csignal>
#include <cstdio>
#include <ctime>

#include "audit/hash.h"
#include "chat/output_parser.h"
#include "server/chat_output.h"
#include "core/error.h"
#include "model/model.h"
#include "format/gguf.h"
#include "server/http.h"
#include "server/shadow.h"
#include "tokenizer/tokenizer.h"
#include "server/web_ui.h"

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
    if (path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings") return "POST";
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

// The routes whose every request is audited (generation, and embeddings: both read prompts).
bool is_generation_route(const std::string& path) {
    return path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings";
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
    shadow_.reset();  // its answer in progress uses a model's worker
    for (auto& m : models_) m->stop();
}

void Server::set_shadow(std::unique_ptr<ShadowMirror> s) { shadow_ = std::move(s); }

bool Server::models_busy() const {
    for (const auto& m : models_)
        if (m->running() > 0 || m->waiting() > 0) return true;
    return false;
}

const ModelExtras* Server::model_extras(const std::string& alias) const {
    auto it = extras_.find(alias);
    return it == extras_.end() ? nullptr : &it->second;
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
        // The chat page loads without a key; the key is typed into it and sent to /v1/*.
        if (opt_.web_ui && is_web_ui_path(req.path)) return httplib::Server::HandlerResponse::Unhandled;
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
    s.Post("/v1/embeddings", [this](const Request& req, Response& res) { handle_embeddings(req, res); });

    if (opt_.web_ui) register_web_ui(s);  // before the catch-all routes below

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
// One record per request, whatever n is: with n > 1 choices its response is the JSON array of
// their texts, completion_tokens their sum and finish_reason their reasons joined by ','.
struct StreamAudit {
    AuditEntry entry;
    std::vector<std::string> texts;  // per choice
    bool written = false;

    std::string response_text() const {
        if (texts.size() == 1) return texts[0];
        return json(texts).dump(-1, ' ', false, json::error_handler_t::replace);
    }
    static std::string join(const std::vector<std::string>& reasons) {
        std::string out;
        for (size_t i = 0; i < reasons.size(); ++i) out += (i ? "," : "") + reasons[i];
        return out;
    }
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
    std::string chat_prompt;  // the rendered chat prompt: does it open a reasoning trace?
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
            job->prompt = w->prompt_tokens(r, e == Endpoint::Chat ? &chat_prompt : nullptr);
            if (r.tool_choice != CompletionRequest::ToolChoice::Auto) r.grammar = w->tool_call_grammar(r, chat_prompt);
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
    // Mirrored to the shadow candidate once the primary's answer is complete (server/shadow.h).
    std::shared_ptr<ShadowRequest> shadow;
    if (shadow_ && shadow_->selects(r.model, target, a.request_sha256)) shadow = shadow_request(a, r, target);
    auto mirror = [this, t0](const std::shared_ptr<ShadowRequest>& sr, const std::string& text, const json& message,
                             const std::string& finish, int64_t prompt_tokens, int64_t completion_tokens) {
        set_answer(sr->primary, text, message);
        sr->primary.finish_reason = finish;
        sr->primary.prompt_tokens = prompt_tokens;
        sr->primary.completion_tokens = completion_tokens;
        sr->primary.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        shadow_->offer(sr);
    };

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
        up->forward(api_path, body, stream, res, [this, audit, t0, stream, key_id, tpm, shadow, mirror](const UpstreamOutcome& o) {
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
            if (shadow && o.status == 200 && !o.cancelled)
                mirror(shadow, u.text, nullptr, u.finish_reason, u.prompt_tokens, u.completion_tokens);
        });
        return;
    }

    // n choices: one job each, drawing with seed + i, all sharing the prompt (the scheduler
    // copies the first one's prompt cache into the others) and one channel.
    const size_t n_choices = static_cast<size_t>(r.n);
    auto ch = std::make_shared<RequestChannel>(n_choices);
    std::vector<std::shared_ptr<Job>> jobs;
    for (size_t i = 0; i < n_choices; ++i) {
        auto j = i == 0 ? job : std::make_shared<Job>();
        if (i > 0) {
            j->prompt = job->prompt;
            j->received = job->received;
        }
        j->gen = r.gen;
        j->gen.sampling.seed = r.gen.sampling.seed + i;
        if (r.grammar) {  // response_format {"type": "grammar"}: a matcher per choice
            j->constraint =
                std::make_shared<chat::GrammarConstraint>(r.grammar, chat::TokenIndex::build(w->model().tokenizer()));
            j->gen.constraint = j->constraint.get();
        }
        j->channel = ch;
        j->choice = i;
        j->stream = r.stream;
        jobs.push_back(std::move(j));
    }
    switch (w->submit(jobs)) {
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
    const bool want_logprobs = r.gen.top_logprobs >= 0;
    const tokenizer::Tokenizer* tok = &w->model().tokenizer();
    audit->texts.assign(n_choices, std::string());
    // Chat: each choice's text is split into reasoning_content, content and tool_calls. The
    // audit log keeps the text as generated, markup included: the message is derived from it.
    const chat::OutputFormat out_fmt = w->output_format();
    const bool opens_reasoning = e == Endpoint::Chat && chat::prompt_opens_reasoning(chat_prompt);
    std::vector<std::shared_ptr<ChatOutput>> outs;
    if (e == Endpoint::Chat)
        for (size_t i = 0; i < n_choices; ++i)
            outs.push_back(std::make_shared<ChatOutput>(out_fmt, opens_reasoning, r.tools));
    auto reasoning_tokens = [ch, tok, out_fmt, opens_reasoning, n_choices] {
        int64_t n = 0;
        for (size_t i = 0; i < n_choices; ++i)
            n += count_reasoning_tokens(out_fmt, opens_reasoning, *tok, ch->result(i).tokens);
        return n;
    };

    if (!r.stream) {
        const bool ok = ch->wait_done();
        int64_t completion = 0;
        for (size_t i = 0; i < n_choices; ++i) completion += static_cast<int64_t>(ch->result(i).tokens.size());
        if (!ok) {
            a.completion_tokens = completion;
            if (tpm > 0) limiter_.charge(key_id, tpm, a.completion_tokens);
            return refuse(ApiError(500, "generation failed: " + ch->error(), "server_error"));
        }
        std::vector<ChoiceOut> out;
        std::vector<std::string> reasons;
        for (size_t i = 0; i < n_choices; ++i) {
            const auto& g = ch->result(i);
            ChoiceOut c{g.text, finish_reason(g.finish_reason), nullptr};
            if (want_logprobs) {
                int64_t offset = 0;
                c.logprobs = e == Endpoint::Chat ? chat_logprobs(*tok, g.logprobs) : completion_logprobs(*tok, g.logprobs, offset);
            }
            if (e == Endpoint::Chat) {
                outs[i]->push(g.text);
                outs[i]->finish();
                c.message = outs[i]->message();
                c.finish = outs[i]->finish_reason(c.finish);
            }
            audit->texts[i] = g.text;
            reasons.push_back(c.finish);
            out.push_back(std::move(c));
        }
        Usage u{ch->result(0).n_prompt, completion};
        if (e == Endpoint::Chat) u.reasoning = reasoning_tokens();
        send_json(res, 200, e == Endpoint::Chat ? chat_completion(meta, out, u) : text_completion(meta, out, u));
        if (tpm > 0) limiter_.charge(key_id, tpm, u.completion);
        a.status = 200;
        a.response = audit->response_text();
        a.prompt_tokens = u.prompt;
        a.completion_tokens = u.completion;
        a.finish_reason = StreamAudit::join(reasons);
        write_audit(a, t0);
        if (shadow)
            mirror(shadow, ch->result(0).text, out[0].message, out[0].finish, u.prompt,
                   static_cast<int64_t>(ch->result(0).tokens.size()));
        return;
    }

    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    const bool include_usage = r.include_usage;
    a.status = 200;
    res.set_chunked_content_provider(
        "text/event-stream",
        [ch, meta, e, include_usage, audit, want_logprobs, tok, n_choices, outs, reasoning_tokens](
            size_t, httplib::DataSink& sink) {
            auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
            bool ok = true;
            if (e == Endpoint::Chat)
                for (size_t i = 0; ok && i < n_choices; ++i)
                    ok = write(sse_event(chat_chunk(meta, {{"role", "assistant"}, {"content", ""}}, "", i)));
            std::vector<int64_t> offsets(n_choices, 0);  // legacy text_offset, per choice
            std::vector<RequestChannel::Delta> news;
            bool done = false;
            while (ok && !done) {
                done = ch->wait(news, std::chrono::milliseconds(200));
                for (size_t i = 0; ok && i < n_choices; ++i) {
                    RequestChannel::Delta& d = news[i];
                    audit->texts[i] += d.text;
                    if (!d.text.empty() || !d.logprobs.empty()) {
                        json lp = nullptr;
                        if (want_logprobs)
                            lp = e == Endpoint::Chat ? chat_logprobs(*tok, d.logprobs)
                                                     : completion_logprobs(*tok, d.logprobs, offsets[i]);
                        if (e == Endpoint::Chat) {
                            // Text that may begin markup is held back; its tokens' logprobs still go out.
                            std::vector<json> deltas = outs[i]->push(d.text);
                            if (deltas.empty() && !lp.is_null()) deltas.push_back(json::object());
                            for (size_t k = 0; ok && k < deltas.size(); ++k)
                                ok = write(sse_event(chat_chunk(meta, deltas[k], "", i, k == 0 ? lp : json(nullptr))));
                        } else {
                            ok = write(sse_event(text_chunk(meta, d.text, "", i, lp)));
                        }
                    }
                    // Each choice's last chunk goes out as soon as it ends, whatever the others do.
                    if (ok && d.finished) {
                        std::string fin = finish_reason(ch->result(i).finish_reason);
                        if (e == Endpoint::Chat) {
                            for (const json& delta : outs[i]->finish())
                                if (ok) ok = write(sse_event(chat_chunk(meta, delta, "", i)));
                            fin = outs[i]->finish_reason(fin);
                        }
                        if (ok)
                            ok = write(sse_event(e == Endpoint::Chat ? chat_chunk(meta, json::object(), fin, i)
                                                                     : text_chunk(meta, "", fin, i)));
                    }
                }
            }
            if (!ok) {
                ch->cancel();  // the client went away: the next token's callback stops generation
                return false;
            }
            if (!ch->error().empty()) {
                write(sse_event(error_body(ApiError(500, "generation failed: " + ch->error(), "server_error"))));
            } else if (include_usage) {
                int64_t completion = 0;
                for (size_t i = 0; i < n_choices; ++i) completion += static_cast<int64_t>(ch->result(i).tokens.size());
                Usage u{ch->result(0).n_prompt, completion};
                if (e == Endpoint::Chat) u.reasoning = reasoning_tokens();
                write(sse_event(usage_chunk(meta, e, u)));
            }
            write(std::string(kSseDone));
            sink.done();
            return true;
        },
        // Runs once the response is over, however it ended: the record is written here.
        [this, ch, audit, t0, key_id, tpm, n_choices, shadow, mirror, outs](bool success) {
            ch->cancel();
            AuditEntry& a = audit->entry;
            // A cancelled generation stops at its next token; give it a moment to report its count.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            bool done = false;
            std::vector<RequestChannel::Delta> rest;
            while (!done && std::chrono::steady_clock::now() < deadline)
                done = ch->wait(rest, std::chrono::milliseconds(100));
            a.response = audit->response_text();
            if (done) {
                int64_t completion = 0;
                std::vector<std::string> reasons;
                for (size_t i = 0; i < n_choices; ++i) {
                    const auto& g = ch->result(i);
                    completion += static_cast<int64_t>(g.tokens.size());
                    reasons.push_back(finish_reason(g.finish_reason));
                }
                a.completion_tokens = completion;
                if (ch->result(0).n_prompt > 0) a.prompt_tokens = ch->result(0).n_prompt;
                if (success && ch->error().empty()) a.finish_reason = StreamAudit::join(reasons);
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
            if (shadow && success && done && ch->error().empty()) {
                const auto& g = ch->result(0);
                const std::string api_finish = finish_reason(g.finish_reason);
                mirror(shadow, g.text, outs.empty() ? json(nullptr) : outs[0]->message(),
                       outs.empty() ? api_finish : outs[0]->finish_reason(api_finish), g.n_prompt,
                       static_cast<int64_t>(g.tokens.size()));
            }
        });
}

void Server::handle_embeddings(const Request& req, Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    AuditEntry a;
    a.route = req.path;
    a.request_sha256 = audit::sha256_hex(req.body);
    a.request_id = new_id("emb-");
    const KeyPolicy* key = request_key(req);
    if (key) a.key_id = key->id;
    auto refuse = [&](const ApiError& err) {
        send_error(res, err);
        a.status = err.status;
        a.error = err.what();
        a.finish_reason = "error";
        write_audit(a, t0);
    };

    EmbeddingRequest r;
    ModelWorker* w = nullptr;
    std::vector<std::vector<int32_t>> inputs;
    int64_t n_tokens = 0;
    try {
        if (audit_ && !audit_->healthy())
            throw ApiError(503, "the audit log cannot be written; requests are refused until the server is restarted",
                           "server_error", "", "audit_log_unavailable");
        if (key && key->max_request_bytes > 0 && req.body.size() > key->max_request_bytes)
            throw ApiError(413, "the request body (" + std::to_string(req.body.size()) + " bytes) is larger than key '" +
                                    key->id + "' may send (" + std::to_string(key->max_request_bytes) + " bytes)",
                           "invalid_request_error", "", "request_too_large");
        r = parse_embedding_request(req.body);
        a.model = r.model;
        a.prompt = json::array();
        for (const auto& in : r.inputs) a.prompt.push_back(in.is_tokens ? json(in.tokens) : json(in.text));
        auto route = routes_.find(r.model);
        const std::string target = route != routes_.end() ? route->second : r.model;
        if (key && !key->allows(r.model, target))
            throw ApiError(403, "key '" + key->id + "' may not use the model '" + r.model + "'", "permission_error",
                           "model", "model_not_allowed");
        if (const Upstream* up = find_upstream(target)) {
            a.served_by = "upstream:" + up->name();
            std::string body = req.body;
            if (target != r.model) {
                json j = json::parse(req.body);
                j["model"] = target;
                body = j.dump();
            }
            auto entry = std::make_shared<AuditEntry>(a);
            up->forward("/embeddings", body, false, res, [this, entry, t0](const UpstreamOutcome& o) {
                const UpstreamUsage u = read_upstream_body(o.body, false);
                entry->status = o.status;
                entry->prompt_tokens = u.prompt_tokens;
                entry->finish_reason = o.cancelled ? "cancelled" : o.status == 200 ? "" : "error";
                entry->error = o.error.empty() && o.status != 200 ? o.body.substr(0, 2000) : o.error;
                write_audit(*entry, t0);
            });
            return;
        }
        w = find_model(target);
        if (!w)
            throw ApiError(404, "the model '" + r.model + "' does not exist", "invalid_request_error", "model",
                           "model_not_found");
        a.served_by = w->alias();
        if (auto ex = extras_.find(w->alias()); ex != extras_.end()) a.model_sha256 = ex->second.sha256;
        const int64_t width = w->model().hparams().n_embd;
        if (r.dimensions && *r.dimensions != width)
            throw invalid_request("'dimensions' is " + std::to_string(*r.dimensions) + ", but model '" + w->alias() +
                                      "' makes embeddings of " + std::to_string(width) +
                                      " dimensions only (shortening is not supported)",
                                  "dimensions", "unsupported_value");
        for (size_t i = 0; i < r.inputs.size(); ++i) {
            const std::string param = r.inputs.size() == 1 ? "input" : "input[" + std::to_string(i) + "]";
            std::vector<int32_t> ids = r.inputs[i].is_tokens ? r.inputs[i].tokens : w->embedding_tokens(r.inputs[i].text);
            w->check_embedding_tokens(ids, param);
            n_tokens += static_cast<int64_t>(ids.size());
            inputs.push_back(std::move(ids));
        }
        a.prompt_tokens = n_tokens;
        if (key && key->tokens_per_minute > 0) {
            if (int wait = limiter_.admit(key->id, key->tokens_per_minute, n_tokens); wait > 0) {
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

    auto job = std::make_shared<EmbedJob>();
    job->inputs = std::move(inputs);
    auto result = job->result.get_future();
    switch (w->submit_embedding(job)) {
        case ModelWorker::Submit::Ok: break;
        case ModelWorker::Submit::QueueFull:
            metrics_.count_rejected(w->alias());
            res.set_header("Retry-After", "1");
            return refuse(ApiError(429, "model '" + w->alias() + "' is busy: its request queue is full; retry later",
                                   "rate_limit_error", "", "queue_full"));
        case ModelWorker::Submit::Stopped:
            return refuse(ApiError(503, "the server is shutting down", "server_error", "", "shutting_down"));
    }
    std::vector<std::vector<float>> vectors;
    try {
        vectors = result.get();
    } catch (const std::exception& ex) {
        return refuse(ApiError(500, std::string("embedding failed: ") + ex.what(), "server_error"));
    }
    send_json(res, 200, embedding_response(w->alias(), vectors, r.base64, n_tokens));
    a.status = 200;
    return write_audit(a, t0);
}

}  // namespace hearth::server
