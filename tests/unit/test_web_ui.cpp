// The chat page's serving rules (server/web_ui): the page files compiled in from web/, the
// allowlist of Debian library files (no path reaches the disk unless listed), the paths exempt
// from the API key, and the config switch. The routes themselves run in tests/cli/web_chat.sh.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "server/config.h"
#include "server/web_ui.h"

using namespace hearth::server;

namespace {

std::string read_source(const std::string& rel) {
    std::ifstream in(std::string(HEARTH_FIXTURES) + "/../../" + rel, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST(WebUi, PageFilesAreCompiledInByteForByte) {
    for (const char* name : {"index.html", "app.js", "style.css"}) {
        const EmbeddedFile f = embedded_file(name);
        ASSERT_TRUE(f.found) << name;
        const std::string src = read_source(std::string("web/") + name);
        ASSERT_FALSE(src.empty()) << name;
        EXPECT_EQ(f.body, src) << name;
        EXPECT_EQ(f.etag.size(), 18u) << name;  // quoted 16 hex digits
    }
    EXPECT_EQ(embedded_file("index.html").content_type, "text/html; charset=utf-8");
    EXPECT_EQ(embedded_file("app.js").content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(embedded_file("style.css").content_type, "text/css; charset=utf-8");
    EXPECT_FALSE(embedded_file("missing.js").found);
    EXPECT_FALSE(embedded_file("../CMakeLists.txt").found);
    EXPECT_NE(embedded_file("app.js").etag, embedded_file("style.css").etag);
}

TEST(WebUi, OnlyListedLibraryFilesResolve) {
    const JsLibFile* marked = find_js_lib_file("/js/marked/marked.min.js");
    ASSERT_NE(marked, nullptr);
    EXPECT_EQ(marked->package, "libjs-marked");
    EXPECT_EQ(marked->relative, "marked/marked.min.js");
    const JsLibFile* css = find_js_lib_file("/js/highlight.js/styles/github.css");
    ASSERT_NE(css, nullptr);
    EXPECT_EQ(css->package, "libjs-highlight.js");
    EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
    for (const char* bad : {"/js/../../etc/passwd", "/js/marked/../../../etc/passwd", "/js/marked/marked.min.js/..",
                            "/js/marked/../marked/marked.min.js", "/js/%2e%2e/etc/passwd", "/js/marked/marked.js",
                            "/js/chart.js/chart.min.js", "/js/", "/js/marked/marked.min.js?x=1",
                            "js/marked/marked.min.js"})
        EXPECT_EQ(find_js_lib_file(bad), nullptr) << bad;
}

TEST(WebUi, PathsExemptFromTheKey) {
    for (const char* p : {"/", "/static/app.js", "/js/marked/marked.min.js"}) EXPECT_TRUE(is_web_ui_path(p)) << p;
    for (const char* p : {"/v1/models", "/v1/chat/completions", "/metrics", "/health", "/index.html", "/jsx", "//",
                          "/static", "/v1/static/app.js"})
        EXPECT_FALSE(is_web_ui_path(p)) << p;
}

TEST(WebUi, ConfigSwitch) {
    EXPECT_TRUE(parse_serve_config("", "t.toml").web_ui);
    EXPECT_FALSE(parse_serve_config("[server]\nweb_ui = false\n", "t.toml").web_ui);
    try {
        parse_serve_config("[server]\nweb_ui = \"no\"\n", "t.toml");
        FAIL() << "a string web_ui was accepted";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("server.web_ui"), std::string::npos) << e.what();
    }
}
