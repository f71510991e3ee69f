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
    EXPECT_EQ(error_of("a\nb\n{% include 'x.j2' %}"), "template line 3: unsupported statement 'include'");
    EXPECT_EQ(error_of("{% extends 'base' %}"), "template line 1: unsupported statement 'extends'");
    EXPECT_EQ(error_of("\n{{ x | from_json }}", {{"x", "1"}}), "template line 2: unsupported filter 'from_json'");
    EXPECT_EQ(error_of("{{ 1 is prime }}"), "template line 1: unsupported test 'prime'");
    EXPECT_EQ(error_of("{% if true %}\nx"), "template line 2: unexpected end of template, expected 'endif'");
    EXPECT_EQ(error_of("\n\n{{ foo.bar }}"), "template line 3: 'foo' is undefined");
    EXPECT_EQ(error_of("{{ raise_exception('bad role') }}"), "template line 1: raise_exception: bad role");
    EXPECT_EQ(error_of("{{ 'abc' "), "template line 1: unclosed tag, expected '}}'");
    EXPECT_EQ(error_of("{{ 1 < 2 < 3 }}"), "template line 1: unsupported chained comparison");
}

TEST(ChatJinja, ContextValuesAreShared) {
    // A namespace changed inside a loop is visible after it (Python reference semantics).
    EXPECT_EQ(render("{% set ns = namespace(a=[]) %}{% for x in [1,2] %}{% set ns.a = ns.a + [x] %}{% endfor %}{{ ns.a }}",
                     ordered_json::object()),
              "[1, 2]");
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
