#include "server/upstream.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "server/audit_log.h"
#include "server/http.h"

namespace hearth::server {

Upstream::Upstream(const UpstreamConfig& c) : name_(c.name), base_url_(c.base_url), models_(c.models) {
    const size_t scheme_end = base_url_.find("://");
    if (scheme_end == std::string::npos) throw Error("upstream '" + name_ + "': base_url must start with http:// or https://");
    const size_t path_start = base_url_.find('/', scheme_end + 3);
    origin_ = base_url_.substr(0, path_start);
    prefix_ = path_start == std::string::npos ? "" : base_url_.substr(path_start);
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
    if (origin_.size() <= scheme_end + 3) throw Error("upstream '" + name_ + "': base_url has no host");
    if (!c.api_key_file.empty()) api_key_ = read_hmac_key_file(c.api_key_file);
}

bool Upstream::serves(const std::string& model) const {
    return std::find(models_.begin(), models_.end(), model) != models_.end();
}

namespace {

// Chunks from the upstream thread to the HTTP thread that streams them to the client.
struct StreamState {
    std::mutex mu;
    std::condition_variable cv;
    bool headers = false, done = false;
    int status = 0;
    std::string content_type;
    std::deque<std::string> chunks;
    std::string all;
    std::string error;
    bool cancelled = false;
};

}  // namespace

void Upstream::forward(const std::string& api_path, const std::string& body, bool stream, httplib::Response& res,
                       std::function<void(const UpstreamOutcome&)> done) const {
    httplib::Headers headers;
    if (!api_key_.empty()) headers.emplace("Authorization", "Bearer " + api_key_);
    const std::string path = prefix_ + api_path;
    auto fail_502 = [&](const std::string& why) {
        UpstreamOutcome o;
        o.status = 502;
        o.error = "upstream '" + name_ + "' (" + base_url_ + "): " + why;
        nlohmann::ordered_json err = {{"error",
                                       {{"message", o.error},
                                        {"type", "server_error"},
                                        {"param", nullptr},
                                        {"code", "upstream_error"}}}};
        res.status = 502;
        res.set_content(err.dump(), "application/json");
        done(o);
    };

    if (!stream) {
        httplib::Client cli(origin_);
        cli.set_connection_timeout(10);
        cli.set_read_timeout(600);
        auto r = cli.Post(path, headers, body, "application/json");
        if (!r) return fail_502(httplib::to_string(r.error()));
        res.status = r->status;
        res.set_content(r->body, r->get_header_value("Content-Type", 0).empty() ? "application/json"
                                                                                 : r->get_header_value("Content-Type"));
        UpstreamOutcome o;
        o.status = r->status;
        o.body = r->body;
        done(o);
        return;
    }

    auto st = std::make_shared<StreamState>();
    std::thread([st, origin = origin_, path, headers, body] {
        httplib::Client cli(origin);
        cli.set_connection_timeout(10);
        cli.set_read_timeout(600);
        httplib::Request req;
        req.method = "POST";
        req.path = path;
        req.headers = headers;
        req.headers.emplace("Content-Type", "application/json");
        req.headers.emplace("Accept", "text/event-stream");
        req.body = body;
        req.response_handler = [st](const httplib::Response& r) {
            std::lock_guard<std::mutex> lock(st->mu);
            st->status = r.status;
            st->content_type = r.get_header_value("Content-Type");
            st->headers = true;
            st->cv.notify_all();
            return true;
        };
        req.content_receiver = [st](const char* data, size_t n, uint64_t, uint64_t) {
            std::lock_guard<std::mutex> lock(st->mu);
            if (st->cancelled) return false;
            st->chunks.emplace_back(data, n);
            st->all.append(data, n);
            st->cv.notify_all();
            return true;
        };
        auto r = cli.send(req);
        std::lock_guard<std::mutex> lock(st->mu);
        if (!r && !st->cancelled) st->error = httplib::to_string(r.error());
        st->headers = true;
        st->done = true;
        st->cv.notify_all();
    }).detach();

    {
        std::unique_lock<std::mutex> lock(st->mu);
        st->cv.wait(lock, [&] { return st->headers; });
        if (st->status == 0) {
            const std::string why = st->error.empty() ? "no response" : st->error;
            lock.unlock();
            return fail_502(why);
        }
        if (st->content_type.find("text/event-stream") == std::string::npos) {
            // An error (or a non-streamed answer): pass it on whole.
            st->cv.wait(lock, [&] { return st->done; });
            res.status = st->status;
            res.set_content(st->all, st->content_type.empty() ? "application/json" : st->content_type);
            UpstreamOutcome o{st->status, st->all, st->error, false};
            lock.unlock();
            done(o);
            return;
        }
        res.status = st->status;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto finished = std::make_shared<bool>(false);
    auto report = [st, done, finished] {
        if (*finished) return;
        *finished = true;
        UpstreamOutcome o;
        {
            std::lock_guard<std::mutex> lock(st->mu);
            o = UpstreamOutcome{st->status, st->all, st->error, st->cancelled};
        }
        done(o);
    };
    res.set_chunked_content_provider(
        "text/event-stream",
        [st](size_t, httplib::DataSink& sink) {
            while (true) {
                std::string chunk;
                bool end = false;
                {
                    std::unique_lock<std::mutex> lock(st->mu);
                    st->cv.wait(lock, [&] { return st->done || !st->chunks.empty(); });
                    if (!st->chunks.empty()) {
                        chunk = std::move(st->chunks.front());
                        st->chunks.pop_front();
                    } else {
                        end = true;
                    }
                }
                if (end) break;
                if (!sink.write(chunk.data(), chunk.size())) {
                    std::lock_guard<std::mutex> lock(st->mu);
                    st->cancelled = true;
                    return false;
                }
            }
            sink.done();
            return true;
        },
        [st, report](bool ok) {
            {
                std::lock_guard<std::mutex> lock(st->mu);
                if (!ok || !st->done) st->cancelled = true;
            }
            report();
        });
}

UpstreamUsage read_upstream_body(const std::string& body, bool stream) {
    using json = nlohmann::ordered_json;
    UpstreamUsage u;
    auto take = [&](const json& j) {
        if (!j.is_object()) return;
        if (j.contains("usage") && j["usage"].is_object()) {
            u.prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
            u.completion_tokens = j["usage"].value("completion_tokens", int64_t{0});
        }
        if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
        const json& c = j["choices"][0];
        if (!c.is_object()) return;
        if (c.contains("finish_reason") && c["finish_reason"].is_string()) u.finish_reason = c["finish_reason"];
        for (const char* k : {"message", "delta"})
            if (c.contains(k) && c[k].is_object() && c[k].contains("content") && c[k]["content"].is_string())
                u.text += c[k]["content"].get<std::string>();
        if (c.contains("text") && c["text"].is_string()) u.text += c["text"].get<std::string>();
    };
    if (!stream) {
        take(json::parse(body, nullptr, false));
        return u;
    }
    size_t pos = 0;
    while (pos < body.size()) {
        size_t end = body.find('\n', pos);
        if (end == std::string::npos) end = body.size();
        std::string_view line(body.data() + pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.rfind("data:", 0) == 0) {
            std::string_view data = line.substr(5);
            while (!data.empty() && data.front() == ' ') data.remove_prefix(1);
            if (data != "[DONE]") take(json::parse(data, nullptr, false));
        }
        pos = end + 1;
    }
    return u;
}

}  // namespace hearth::server
