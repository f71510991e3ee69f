#include "server/web_ui.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "server/http.h"
#include "server/web_assets.inc"  // generated from web/ by cmake/embed_web_assets.cmake

namespace hearth::server {

namespace {

// The page loads only its own origin's scripts and styles and talks only to its own origin,
// so even markdown that slipped past the page's sanitizer could not run script or phone out.
constexpr std::string_view kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

constexpr std::array<JsLibFile, 3> kJsLibFiles{{
    {"/js/marked/marked.min.js", "marked/marked.min.js", "libjs-marked", "text/javascript; charset=utf-8"},
    {"/js/highlight.js/highlight.min.js", "highlight.js/highlight.min.js", "libjs-highlight.js",
     "text/javascript; charset=utf-8"},
    {"/js/highlight.js/styles/github.css", "highlight.js/styles/github.css", "libjs-highlight.js",
     "text/css; charset=utf-8"},
}};

std::string_view content_type_of(std::string_view name) {
    auto ends = [&](std::string_view ext) {
        return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
    };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    return "application/octet-stream";
}

// FNV-1a over the bytes: a validator for If-None-Match, not a security hash.
std::string etag_of(std::string_view body) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : body) h = (h ^ c) * 1099511628211ull;
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
    return buf;
}

struct Embedded {
    std::string_view name, body;
    std::string etag;
};

const std::vector<Embedded>& embedded_files() {
    static const std::vector<Embedded> files = [] {
        std::vector<Embedded> v;
        for (const auto& f : web_assets::kFiles) {
            std::string_view body(reinterpret_cast<const char*>(f.data), f.size);
            v.push_back({f.name, body, etag_of(body)});
        }
        return v;
    }();
    return files;
}

void send_text(httplib::Response& res, int status, const std::string& msg) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(msg + "\n", "text/plain; charset=utf-8");
}

void send_embedded(const httplib::Request& req, httplib::Response& res, std::string_view name) {
    const EmbeddedFile f = embedded_file(name);
    if (!f.found) return send_text(res, 404, "not found: " + req.path);
    res.set_header("ETag", std::string(f.etag));
    // The page changes with the binary: browsers revalidate every time and get 304 while it is the same.
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (name == "index.html") {
        res.set_header("Content-Security-Policy", std::string(kPageCsp));
        res.set_header("Referrer-Policy", "no-referrer");
    }
    if (req.get_header_value("If-None-Match") == f.etag) {
        res.status = 304;
        return;
    }
    res.status = 200;
    res.set_content(std::string(f.body), std::string(f.content_type));
}

void send_js_lib(const httplib::Request& req, httplib::Response& res, const WebUiOptions& opt) {
    const JsLibFile* lib = find_js_lib_file(req.path);
    if (!lib)
        return send_text(res, 404, "not found: " + req.path + " is not one of the library files the web page uses");
    const std::string disk = opt.js_root + "/" + std::string(lib->relative);
    std::ifstream in(disk, std::ios::binary);
    std::ostringstream body;
    if (in) body << in.rdbuf();
    if (!in || in.bad())
        return send_text(res, 404,
                         "not found: " + disk + " is missing; install the Debian package " + std::string(lib->package) +
                             " (apt-get install " + std::string(lib->package) + ")");
    res.status = 200;
    // Debian's files change only with a package upgrade.
    res.set_header("Cache-Control", "public, max-age=86400");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(body.str(), std::string(lib->content_type));
}

}  // namespace

EmbeddedFile embedded_file(std::string_view name) {
    for (const auto& f : embedded_files())
        if (f.name == name) return {f.body, content_type_of(name), f.etag, true};
    return {};
}

const JsLibFile* find_js_lib_file(std::string_view url_path) {
    for (const auto& f : kJsLibFiles)
        if (f.url == url_path) return &f;
    return nullptr;
}

bool is_web_ui_path(std::string_view path) {
    return path == "/" || path.rfind("/static/", 0) == 0 || path.rfind("/js/", 0) == 0;
}

void register_web_ui(httplib::Server& s, const WebUiOptions& opt) {
    s.Get("/", [](const httplib::Request& req, httplib::Response& res) { send_embedded(req, res, "index.html"); });
    // Only the page's own files: index.html is served at / alone.
    s.Get(R"(/static/([A-Za-z0-9_.-]+\.(js|css)))", [](const httplib::Request& req, httplib::Response& res) {
        send_embedded(req, res, req.matches[1].str());
    });
    s.Get(R"(/static/.*)", [](const httplib::Request& req, httplib::Response& res) {
        send_text(res, 404, "not found: " + req.path);
    });
    s.Get(R"(/js/.*)", [opt](const httplib::Request& req, httplib::Response& res) { send_js_lib(req, res, opt); });
}

}  // namespace hearth::server
