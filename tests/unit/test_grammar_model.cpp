// Constrained generation with the default model (HEARTH_MODEL) under each fixture grammar
// (tests/fixtures/chat_grammar): the output is always a complete text of the grammar.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "chat/grammar.h"
#include "core/thread_pool.h"
#include "engine/session.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace {

using hearth::chat::Grammar;
using hearth::chat::GrammarMatcher;
using json = nlohmann::ordered_json;

const std::filesystem::path kDir = std::filesystem::path(HEARTH_FIXTURES) / "chat_grammar";

std::string read(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::shared_ptr<const Grammar> compile(const std::string& text) {
    return std::make_shared<const Grammar>(hearth::chat::parse_gbnf(text));
}

bool full_match(const std::shared_ptr<const Grammar>& g, const std::string& s) {
    GrammarMatcher m(g);
    return m.accept_bytes(s) && m.complete();
}

// With the default model: sampled (temperature 0.9, several seeds) output under each fixture
// grammar is always a complete text of that grammar, checked byte by byte by the matcher
// (whose verdicts AgreesWithReferenceParsers holds to Python's re and lark). Prints the
// constraint's cost per token.
TEST(Grammar, ConstrainedGenerationWithDefaultModel) {
    const char* path = std::getenv("HEARTH_MODEL");
    if (!path) GTEST_SKIP() << "HEARTH_MODEL is not set";
    json prompts = json::parse(read(kDir / "prompts.json"));
    auto m = hearth::model::Model::load(path);
    hearth::ThreadPool pool(2);
    hearth::engine::SessionOptions so;
    so.n_ctx = 1024;
    hearth::engine::Session session(*m, pool, so);
    const auto& tok = m->tokenizer();
    auto tmpl = hearth::chat::ChatTemplate::from_gguf(m->file());
    auto index = hearth::chat::TokenIndex::build(tok);
    double constraint_s = 0, decode_s = 0;
    int64_t tokens = 0, runs = 0, unfinished = 0;
    for (const auto& [file, prompt] : prompts.items()) {
        auto g = compile(read(kDir / file));
        for (uint64_t seed : {1, 2, 3}) {
            hearth::chat::GrammarConstraint c(g, index);
            hearth::engine::GenerateOptions opt;
            opt.max_tokens = 80;
            opt.sampling.temperature = 0.9f;
            opt.sampling.seed = seed;
            opt.constraint = &c;
            session.reset();
            json msgs = json::array({{{"role", "user"}, {"content", prompt.get<std::string>()}}});
            auto r = session.generate(tok.encode(tmpl.render(msgs, nullptr, true), false, true), opt);
            EXPECT_TRUE(full_match(g, r.text)) << file << " seed " << seed << ": " << json(r.text).dump();
            EXPECT_TRUE(c.complete()) << file << " seed " << seed;
            constraint_s += c.stats().seconds;
            decode_s += r.decode_seconds;
            tokens += static_cast<int64_t>(r.tokens.size());
            unfinished += r.finish_reason != "stop";
            ++runs;
        }
    }
    std::printf("[grammar] %lld runs, %lld tokens; constraint %.3f ms/token, decode %.2f ms/token incl. constraint; "
                "%lld ended by the token limit (closing forced)\n",
                static_cast<long long>(runs), static_cast<long long>(tokens), 1e3 * constraint_s / static_cast<double>(tokens),
                1e3 * decode_s / static_cast<double>(tokens), static_cast<long long>(unfinished));
}

}  // namespace
