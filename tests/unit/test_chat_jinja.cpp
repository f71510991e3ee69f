// The Jinja engine, construct by construct, against Python's jinja2 set up as transformers
// sets it up (tests/fixtures/chat/jinja_features.json, made by tools/gen_chat_goldens.py),
// plus the errors hearth itself promises (line numbers, unsupported constructs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "chat/jinja/template.h"
#include "core/error.h"
#include "format/gguf.h"

namespace {

using hearth::chat::jinja::Template;
using hearth::chat::jinja::Value;
using nlohmann::ordered_json;

ordered_json load_features() {
    std::ifstream f(std::filesystem::path(HEARTH_FIXTURES) / "chat" / "jinja_features.json", std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ordered_json::parse(ss.str());
}

std::string render(const std::string& src, const ordered_json& ctx) {
    Template t(src);
    return t.render(Value::from_json(ctx));
}

TEST(ChatJinja, FeaturesMatchJinja2) {
    ordered_json doc = load_features();
    ASSERT_GE(doc["cases"].size(), 40u);
    for (const auto& c : doc["cases"]) {
        SCOPED_TRACE("case " + c["name"].get<std::string>() + ": " + c["template"].get<std::string>());
        const std::string src = c["template"].get<std::string>();
        if (c.contains("expected")) {
            try {
                EXPECT_EQ(render(src, doc["context"]), c["expected"].get<std::string>());
            } catch (const hearth::Error& e) {
                ADD_FAILURE() << "hearth threw: " << e.what();
            }
        } else {
            try {
                std::string got = render(src, doc["context"]);
                ADD_FAILURE() << "jinja2 raised " << c["error"] << " but hearth rendered " << got;
            } catch (const hearth::Error& e) {
                if (c.contains("raise_exception")) {
                    EXPECT_NE(std::string(e.what()).find(c["raise_exception"].get<std::string>()), std::string::npos)
                        << e.what();
                }
            }
        }
    }
}

std::string error_of(const std::string& src, const ordered_json& ctx = ordered_json::object()) {
    try {
        render(src, ctx);
    } catch (const hearth::Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(ChatJinja, ErrorsNameLineAndConstruct) {
    const std::string alone = " (a chat template is rendered on its own and cannot load other templates)";
    EXPECT_EQ(error_of("a\nb\n{% include 'x.j2' %}"), "unsupported: include at line 3" + alone);
    EXPECT_EQ(error_of("{% extends 'base' %}"), "unsupported: extends at line 1" + alone);
    EXPECT_EQ(error_of("\n{% import 'm.j2' as m %}"), "unsupported: import at line 2" + alone);
    EXPECT_EQ(error_of("{% if x %}\n\n{% from 'm.j2' import y %}{% endif %}"), "unsupported: from at line 3" + alone);
    EXPECT_EQ(error_of("\n{{ x | from_json }}", {{"x", "1"}}), "template line 2: unsupported filter 'from_json'");
    EXPECT_EQ(error_of("{{ 1 is prime }}"), "template line 1: unsupported test 'prime'");
    EXPECT_EQ(error_of("{% if true %}\nx"), "template line 2: unexpected end of template, expected 'endif'");
    EXPECT_EQ(error_of("\n\n{{ foo.bar }}"), "template line 3: 'foo' is undefined");
    EXPECT_EQ(error_of("{{ raise_exception('bad role') }}"), "template line 1: raise_exception: bad role");
    EXPECT_EQ(error_of("{{ 'abc' "), "template line 1: unclosed tag, expected '}}'");
    EXPECT_EQ(error_of("\n{{ '%d items' % 'x' }}"), "template line 2: %d format: a real number is required, not str");
    EXPECT_EQ(error_of("{{ '%s %s' % ('a',) }}"), "template line 1: not enough arguments for format string");
    EXPECT_EQ(error_of("{{ '%q' % 1 }}"), "template line 1: unsupported format character 'q' (0x71) at index 1");
}

TEST(ChatJinja, ContextValuesAreShared) {
    // A namespace changed inside a loop is visible after it (Python reference semantics).
    EXPECT_EQ(render("{% set ns = namespace(a=[]) %}{% for x in [1,2] %}{% set ns.a = ns.a + [x] %}{% endfor %}{{ ns.a }}",
                     ordered_json::object()),
              "[1, 2]");
}

// Templates that make reference cycles: a macro in the scope it closes over, a recursive
// macro, a namespace that holds itself or a macro, caller blocks. The outputs are checked
// here; the ASan build (LeakSanitizer on) proves that each render frees all it made.
TEST(ChatJinja, ReferenceCyclesAreFreed) {
    EXPECT_EQ(render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}", ordered_json::object()),
              "321");
    EXPECT_EQ(render("{% set ns = namespace(me=none) %}{% set ns.me = ns %}{% macro m() %}M{% endmacro %}{% set ns.m = m %}"
                     "{{ ns.me.me.m() }}{% for x in [1, 2] %}{% macro inner() %}{{ x }}{% endmacro %}{% set ns.k = inner %}"
                     "{% endfor %}{{ ns.k() }}",
                     ordered_json::object()),
              "M2");
    EXPECT_EQ(render("{% macro w() %}[{{ caller() }}]{% endmacro %}{% set ns = namespace() %}{% call w() %}{% set ns.c = 1 %}"
                     "in{% endcall %}",
                     ordered_json::object()),
              "[in]");
}

// A macro that escapes its render (stored into a namespace the caller passed in) refuses to
// run afterwards instead of touching the freed render.
TEST(ChatJinja, EscapedMacroRaisesAfterRender) {
    Value ctx = Value::dict();
    Value ns = Value::namespace_();
    ctx.dict_ref().set(Value("box"), ns);
    Template t("{% macro m() %}x{% endmacro %}{% set box.m = m %}{{ box.m() }}");
    EXPECT_EQ(t.render(ctx), "x");
    ASSERT_NE(ns.dict_ref().find(Value("m")), nullptr);
    Template later("{{ box.m() }}");
    try {
        later.render(ctx);
        ADD_FAILURE() << "no error";
    } catch (const hearth::Error& e) {
        EXPECT_STREQ(e.what(), "template line 1: macro 'm' called after its template finished rendering");
    }
}

TEST(ChatTemplate, StrftimeNowUsesTheClock) {
    hearth::chat::ChatTemplate t("{{ strftime_now('%d %b %Y') }}{{ bos_token }}{{ eos_token is defined }}", "<s>", "");
    t.set_clock([] {
        std::tm tm{};
        tm.tm_year = 124;
        tm.tm_mon = 6;
        tm.tm_mday = 26;
        return tm;
    });
    EXPECT_EQ(t.render(ordered_json::array(), nullptr, false), "26 Jul 2024<s>False");
}

}  // namespace

namespace {

// The default model's own template and special tokens, read through from_gguf, are the ones
// the golden fixture qwen2.5-coder-0.5b-instruct.gguf.json was rendered with.
TEST(ChatTemplate, FromDefaultModelGGUF) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path || !*path) GTEST_SKIP() << "HEARTH_MODEL is not set";
    auto file = hearth::format::GGUFFile::open(path);
    auto t = hearth::chat::ChatTemplate::from_gguf(*file);
    std::ifstream f(std::filesystem::path(HEARTH_FIXTURES) / "chat" / "templates" / "qwen2.5-coder-0.5b-instruct.gguf.jinja",
                    std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(t.source(), ss.str());
    EXPECT_EQ(t.bos_token(), "<|endoftext|>");
    EXPECT_EQ(t.eos_token(), "<|im_end|>");
    ordered_json msgs = ordered_json::parse(R"([{"role":"user","content":"hi"}])");
    EXPECT_EQ(t.render(msgs, nullptr, true),
              "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
              "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, FromGGUFWithoutTemplateNamesTheFile) {
    // A GGUF with metadata but no chat template.
    const auto dir = std::filesystem::path(HEARTH_FIXTURES) / "gguf";
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".gguf") continue;
        std::unique_ptr<hearth::format::GGUFFile> file;
        try {
            file = hearth::format::GGUFFile::open(e.path().string());
        } catch (const hearth::Error&) {
            continue;  // the corrupt-file fixtures
        }
        if (file->has("tokenizer.chat_template")) continue;
        try {
            hearth::chat::ChatTemplate::from_gguf(*file);
            ADD_FAILURE() << "no error for " << e.path();
        } catch (const hearth::Error& err) {
            EXPECT_NE(std::string(err.what()).find("no tokenizer.chat_template"), std::string::npos) << err.what();
        }
        return;
    }
    GTEST_SKIP() << "no valid GGUF fixture without a chat template";
}

}  // namespace

namespace {

// The message of the hearth::Error a render raises, or "" when it renders.
std::string render_error(const std::string& src) {
    try {
        render(src, ordered_json::object());
    } catch (const hearth::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

// A template from a model file is untrusted code: runaway loops and exploding strings stop
// with a message naming the line instead of hanging or exhausting memory.
TEST(ChatJinja, HostileTemplatesHitTheBudget) {
    const std::string nested = "line one\n{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
    std::string e = render_error(nested);
    EXPECT_NE(e.find("execution budget"), std::string::npos) << e;
    EXPECT_NE(e.find("template line 2"), std::string::npos) << e;

    e = render_error("{% set x = 'ab' %}{% for i in range(40) %}{% set x = x ~ x %}{% endfor %}{{ x|length }}");
    EXPECT_NE(e.find("MiB"), std::string::npos) << e;
    e = render_error("{{ 'abc' * 1000000000 }}");
    EXPECT_NE(e.find("MiB"), std::string::npos) << e;
    e = render_error("{{ [1, 2] * 1000000000 }}");
    EXPECT_NE(e.find("MiB"), std::string::npos) << e;
    // Under the budget, the same constructs still work.
    EXPECT_EQ(render("{% for i in range(200) %}{% for j in range(200) %}{% endfor %}{% endfor %}ok", ordered_json::object()), "ok");
    EXPECT_EQ(render("{{ ('ab' * 3) ~ 'c' }}", ordered_json::object()), "abababc");
}
