#pragma once
// The chat page of `hearth serve` (web/ in the repository):
//   GET /                 web/index.html (compiled into the binary)
//   GET /static/NAME      web/app.js, web/style.css (compiled in)
//   GET /js/LIB/FILE      a fixed list of Debian libjs files read from /usr/share/javascript at
//                         request time (marked, highlight.js); a missing one is a 404 naming the
//                         package to install
// None of these needs an API key: the key is typed into the page, which sends it to /v1/*.
#include <string>
#include <string_view>

namespace httplib {
class Server;
}

namespace hearth::server {

struct WebUiOptions {
    std::string js_root = "/usr/share/javascript";  // where Debian's libjs-* packages put their files
};

// Registers the routes above. Call before any catch-all route (httplib matches in order).
void register_web_ui(httplib::Server& s, const WebUiOptions& opt = {});

// True for the paths register_web_ui serves (the auth exemption in the server's pre-routing).
bool is_web_ui_path(std::string_view path);

// A page file compiled into the binary, by its name in web/ ("index.html"); empty body if none.
struct EmbeddedFile {
    std::string_view body;
    std::string_view content_type;
    std::string_view etag;  // quoted, for If-None-Match
    bool found = false;
};
EmbeddedFile embedded_file(std::string_view name);

// A Debian library file the page may load. Only the paths in the list resolve: the request
// path is a key into it, never joined onto a directory, so "../" cannot reach anything else.
struct JsLibFile {
    std::string_view url;           // "/js/marked/marked.min.js"
    std::string_view relative;      // under WebUiOptions::js_root
    std::string_view package;       // the Debian package that ships it
    std::string_view content_type;
};
const JsLibFile* find_js_lib_file(std::string_view url_path);

}  // namespace hearth::server
