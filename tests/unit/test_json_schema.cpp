// JSON-schema structured output: the validator against Python jsonschema's verdicts, the
// grammar on all 200 generated schemas (random walks through it always give valid JSON),
// and constrained generation with the real default model (HEARTH_MODEL).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include "chat/chat_template.h"
#include "chat/json_schema.h"
#include "core/thread_pool.h"
#include "engine/session.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

using hearth::chat::Grammar;
using hearth::chat::GrammarMatcher;
using hearth::chat::validate_json_schema;
using json = nlohmann::ordered_json;

namespace {

const json& fixture() {
    static const json fx = [] {
        std::ifstream f(std::string(HEARTH_FIXTURES) + "/chat_outputs/json_schemas.json");
        if (!f) throw std::runtime_error("missing chat_outputs/json_schemas.json (tools/gen_json_schemas.py)");
        return json::parse(f);
    }();
    return fx;
}

std::shared_ptr<const Grammar> grammar(const json& s) { return std::make_shared<const Grammar>(Grammar::from_schema(s)); }

bool matches(const json& schema, const std::string& text) {
    GrammarMatcher m(grammar(schema));
    return m.accept_bytes(text) && m.complete();
}

}  // namespace

TEST(JsonSchema, ValidatorAgreesWithPythonJsonschema) {
    const json& fx = fixture();
    ASSERT_GE(fx["schemas"].size(), 200u);
    size_t n = 0, valid = 0;
    for (const auto& c : fx["instances"]) {
        const json& s = fx["schemas"][c["schema"].get<size_t>()];
        std::string why;
        bool got = validate_json_schema(s, c["instance"], &why);
        EXPECT_EQ(got, c["valid"].get<bool>()) << s.dump() << "\n" << c["instance"].dump() << "\n" << why;
        ++n;
        valid += got;
    }
    EXPECT_GE(n, 600u);
    EXPECT_GT(valid, 100u);
    EXPECT_LT(valid, n - 100);
}

TEST(JsonSchema, GrammarBasics) {
    json integer = {{"type", "integer"}};
    EXPECT_TRUE(matches(integer, "0"));
    EXPECT_TRUE(matches(integer, "-12"));
    EXPECT_FALSE(matches(integer, "01"));
    EXPECT_FALSE(matches(integer, "1.5"));
    EXPECT_FALSE(matches(integer, "-"));
    json num = {{"type", "number"}};
    EXPECT_TRUE(matches(num, "-1.25e+3"));
    EXPECT_FALSE(matches(num, "1."));
    json str = {{"type", "string"}};
    EXPECT_TRUE(matches(str, "\"a\\n\\u00e9 \xc3\xa9\""));
    EXPECT_FALSE(matches(str, "\"a\nb\""));
    EXPECT_FALSE(matches(str, "\"\xc3\""));
    json obj = json::parse(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"enum":["x","y"]},
        "c":{"type":"boolean"}},"required":["a","c"],"additionalProperties":false})");
    EXPECT_TRUE(matches(obj, R"({"a":1,"c":true})"));
    EXPECT_TRUE(matches(obj, R"({"a": 1, "b": "y", "c": false})"));
    EXPECT_FALSE(matches(obj, R"({"a":1})"));
    EXPECT_FALSE(matches(obj, R"({"a":1,"b":"z","c":true})"));
    EXPECT_FALSE(matches(obj, R"({"a":1,"c":true,"d":1})"));
    json arr = json::parse(R"({"type":"array","items":{"type":"null"},"minItems":1,"maxItems":2})");
    EXPECT_FALSE(matches(arr, "[]"));
    EXPECT_TRUE(matches(arr, "[null]"));
    EXPECT_TRUE(matches(arr, "[null, null]"));
    EXPECT_FALSE(matches(arr, "[null,null,null]"));
    json any = json::parse(R"({"anyOf":[{"type":"string"},{"type":"array","items":{"const":3}}]})");
    EXPECT_TRUE(matches(any, "\"s\""));
    EXPECT_TRUE(matches(any, "[3,3]"));
    EXPECT_FALSE(matches(any, "[4]"));
    EXPECT_THROW(Grammar::from_schema(json::parse(R"({"$ref":"#/x"})")), std::exception);
}

// For every generated schema: random walks through the grammar (a random allowed byte at each
// step, then the shortest completion) always give JSON that parses and validates.
TEST(JsonSchema, RandomWalksThroughEveryGrammarValidate) {
    const json& fx = fixture();
    std::mt19937 rng(7);
    for (size_t i = 0; i < fx["schemas"].size(); ++i) {
        const json& s = fx["schemas"][i];
        auto g = grammar(s);
        {
            GrammarMatcher m(g);
            std::string c = m.shortest_completion();
            ASSERT_TRUE(m.accept_bytes(c) && m.complete()) << s.dump();
            auto j = json::parse(c, nullptr, false);
            ASSERT_FALSE(j.is_discarded()) << c;
            ASSERT_TRUE(validate_json_schema(s, j)) << s.dump() << " " << c;
        }
        for (int walk = 0; walk < 5; ++walk) {
            GrammarMatcher m(g);
            std::string text;
            const int steps = std::uniform_int_distribution<int>(0, 60)(rng);
            for (int k = 0; k < steps; ++k) {
                std::vector<uint8_t> ok;
                for (int b = 0; b < 256; ++b) {
                    GrammarMatcher t = m;
                    if (t.accept_byte(static_cast<uint8_t>(b))) ok.push_back(static_cast<uint8_t>(b));
                }
                if (ok.empty()) break;
                // Favour ASCII so walks do not spend their steps inside multi-byte characters.
                uint8_t b = ok[std::uniform_int_distribution<size_t>(0, ok.size() - 1)(rng)];
                ASSERT_TRUE(m.accept_byte(b));
                text += static_cast<char>(b);
            }
            std::string c = m.shortest_completion();
            ASSERT_TRUE(m.accept_bytes(c)) << text << "|" << c;
            ASSERT_TRUE(m.complete());
            text += c;
            auto j = json::parse(text, nullptr, false);
            ASSERT_FALSE(j.is_discarded()) << s.dump() << "\n" << text;
            std::string why;
            ASSERT_TRUE(validate_json_schema(s, j, &why)) << s.dump() << "\n" << text << "\n" << why;
        }
    }
}

// Constrained greedy generation with the default model: 20 schemas in CI, all 200 with
// HEARTH_JSON_SCHEMA_ALL=1. Every output must parse and validate.
TEST(JsonSchema, ConstrainedGenerationWithDefaultModel) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path) GTEST_SKIP() << "HEARTH_MODEL is not set";
    const json& fx = fixture();
    const bool all = std::getenv("HEARTH_JSON_SCHEMA_ALL") != nullptr;
    const size_t n = all ? fx["schemas"].size() : 20;
    auto m = hearth::model::Model::load(path);
    hearth::ThreadPool pool(2);
    hearth::engine::SessionOptions so;
    so.n_ctx = 1024;
    hearth::engine::Session session(*m, pool, so);
    const auto& tok = m->tokenizer();
    auto tmpl = hearth::chat::ChatTemplate::from_gguf(m->file());
    auto t0 = std::chrono::steady_clock::now();
    auto index = hearth::chat::TokenIndex::build(tok);
    double index_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double constraint_s = 0, decode_s = 0;
    int64_t tokens = 0, masks = 0, forced = 0, finished_by_length = 0;
    for (size_t i = 0; i < n; ++i) {
        const json& s = fx["schemas"][i];
        json msgs = json::array({{{"role", "system"}, {"content", "You answer with a single JSON value and nothing else."}},
                                 {{"role", "user"}, {"content", "Give an example JSON value for this JSON schema:\n" + s.dump()}}});
        std::string prompt = tmpl.render(msgs, nullptr, true);
        hearth::chat::JsonSchemaConstraint c(s, index);
        hearth::engine::GenerateOptions g;
        g.max_tokens = 64;
        g.sampling.temperature = 0;
        g.constraint = &c;
        session.reset();
        auto r = session.generate(tok.encode(prompt, false, true), g);
        auto j = json::parse(r.text, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << i << ": " << s.dump() << "\n" << r.text;
        std::string why;
        EXPECT_TRUE(validate_json_schema(s, j, &why)) << i << ": " << s.dump() << "\n" << r.text << "\n" << why;
        constraint_s += c.stats().seconds;
        decode_s += r.decode_seconds;
        tokens += static_cast<int64_t>(r.tokens.size());
        masks += c.stats().mask_calls;
        forced += c.stats().forced;
        finished_by_length += r.finish_reason == "length";
    }
    std::printf("[json-schema] %zu schemas, %lld tokens; token index built in %.3f s; constraint %.3f ms/token "
                "(decode %.2f ms/token incl. constraint); %lld full masks, %lld forced tokens, %lld hit the limit\n",
                n, static_cast<long long>(tokens), index_s, 1e3 * constraint_s / static_cast<double>(tokens),
                1e3 * decode_s / static_cast<double>(tokens), static_cast<long long>(masks),
                static_cast<long long>(forced), static_cast<long long>(finished_by_length));
}

// The cost of a full mask at the two extremes: right at the start (few tokens fit) and inside
// a string (almost every token fits). Printed for the record; checks that masked tokens agree.
TEST(JsonSchema, FullMaskCostWithDefaultTokenizer) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path) GTEST_SKIP() << "HEARTH_MODEL is not set";
    auto m = hearth::model::Model::load(path);
    const auto& tok = m->tokenizer();
    auto index = hearth::chat::TokenIndex::build(tok);
    json s = json::parse(R"({"type":"object","properties":{"s":{"type":"string"}},"required":["s"]})");
    hearth::chat::JsonSchemaConstraint c(s, index);
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()), 0.0f);
    auto time_mask = [&] {
        std::fill(logits.begin(), logits.end(), 0.0f);
        auto t0 = std::chrono::steady_clock::now();
        c.mask(logits.data(), tok.n_vocab(), 1000);
        double ms = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        size_t open = 0;
        for (int32_t i = 0; i < tok.n_vocab(); ++i)
            if (std::isfinite(logits[static_cast<size_t>(i)])) {
                ++open;
                if (open % 97 == 0) {
                    EXPECT_TRUE(c.allows(i, 1000)) << i;
                }
            }
        return std::make_pair(ms, open);
    };
    auto [ms0, n0] = time_mask();
    for (int32_t id : tok.encode("{\"s\": \"ab", false, false)) c.accept(id);
    auto [ms1, n1] = time_mask();
    EXPECT_GT(n1, 1000u);
    std::printf("[json-schema] full mask: %.2f ms at the start (%zu tokens allowed), %.2f ms inside a string (%zu allowed)\n",
                ms0, n0, ms1, n1);
}

// A budget far too small for what the model wants to write: the closing is forced in time.
TEST(JsonSchema, ClosingIsForcedNearTheLimit) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path) GTEST_SKIP() << "HEARTH_MODEL is not set";
    auto m = hearth::model::Model::load(path);
    hearth::ThreadPool pool(2);
    hearth::engine::SessionOptions so;
    so.n_ctx = 512;
    hearth::engine::Session session(*m, pool, so);
    const auto& tok = m->tokenizer();
    auto tmpl = hearth::chat::ChatTemplate::from_gguf(m->file());
    auto index = hearth::chat::TokenIndex::build(tok);
    json s = json::parse(R"({"type":"object","properties":{"essay":{"type":"string"},
        "tags":{"type":"array","items":{"type":"string"},"minItems":2}},"required":["essay","tags"],
        "additionalProperties":false})");
    json msgs = json::array({{{"role", "user"}, {"content", "Write a long essay about the history of Rome as JSON: " + s.dump()}}});
    for (int64_t budget : {12, 20, 40}) {
        hearth::chat::JsonSchemaConstraint c(s, index);
        hearth::engine::GenerateOptions g;
        g.max_tokens = budget;
        g.sampling.temperature = 0;
        g.constraint = &c;
        session.reset();
        auto r = session.generate(tok.encode(tmpl.render(msgs, nullptr, true), false, true), g);
        auto j = json::parse(r.text, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << budget << ": " << r.text;
        EXPECT_TRUE(validate_json_schema(s, j)) << r.text;
        EXPECT_GT(c.stats().forced, 0) << budget;
        EXPECT_LE(static_cast<int64_t>(r.tokens.size()), budget);
    }
}
