// hearth run: complete a prompt and stream the tokens, then report speed.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/grammar.h"
#include "chat/grammar_matcher.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::cli {
namespace {

struct RunOptions {
    ModelOptions model;
    engine::SamplingParams sampling;
    std::string prompt;
    std::string prompt_file;
    int64_t n_predict = 128;
    bool ignore_eos = false;
    bool no_special = false;
    bool verbose_prompt = false;
    bool print_ids = false;
    std::vector<std::string> stop;
    std::string grammar_file;  // GBNF: only text the grammar derives is generated
    std::string schema_file;   // JSON schema: only JSON values it accepts are generated
};

std::shared_ptr<const chat::Grammar> load_schema_grammar(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot read JSON schema file");
    nlohmann::ordered_json schema;
    try {
        schema = nlohmann::ordered_json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not valid JSON: " + e.what());
    }
    try {
        return std::make_shared<const chat::Grammar>(chat::Grammar::from_schema(schema));
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
}

void run(const RunOptions& o) {
    std::string prompt = o.prompt;
    if (!o.prompt_file.empty()) {
        std::ifstream in(o.prompt_file, std::ios::binary);
        if (!in) throw Error(o.prompt_file + ": cannot read prompt file");
        std::stringstream ss;
        ss << in.rdbuf();
        prompt = ss.str();
    }
    auto m = load_model(o.model.path, o.model.ubatch);
    ThreadPool pool(thread_count(o.model));
    engine::Session session(*m, pool, session_options(o.model));
    const auto& tok = m->tokenizer();
    std::vector<int32_t> ids = tok.encode(prompt, true, !o.no_special);
    if (ids.empty()) throw Error("the prompt is empty after tokenization; give some text with -p");
    if (static_cast<int64_t>(ids.size()) >= session.n_ctx())
        throw Error("prompt has " + std::to_string(ids.size()) + " tokens but the context holds " +
                    std::to_string(session.n_ctx()) + " (raise --ctx-size, the model allows " +
                    std::to_string(m->hparams().n_ctx_train) + ")");
    if (o.verbose_prompt) {
        std::fprintf(stderr, "prompt: %zu tokens:", ids.size());
        for (int32_t id : ids) std::fprintf(stderr, " %d", id);
        std::fprintf(stderr, "\n");
    }
    // Compiled before the prompt runs, so a bad grammar fails fast.
    std::unique_ptr<chat::GrammarConstraint> constraint;
    if (!o.grammar_file.empty())
        constraint = std::make_unique<chat::GrammarConstraint>(
            std::make_shared<const chat::Grammar>(chat::load_gbnf_file(o.grammar_file)), chat::TokenIndex::build(tok));
    if (!o.schema_file.empty())
        constraint =
            std::make_unique<chat::GrammarConstraint>(load_schema_grammar(o.schema_file), chat::TokenIndex::build(tok));
    engine::GenerateOptions g;
    g.constraint = constraint.get();
    g.max_tokens = o.n_predict;
    g.sampling = o.sampling;
    g.ignore_eos = o.ignore_eos;
    g.stop = o.stop;
    std::fputs(prompt.c_str(), stdout);
    std::fflush(stdout);
    auto r = session.generate(ids, g, [](const std::string& s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    std::fputc('\n', stdout);
    if (o.print_ids) {
        std::printf("ids:");
        for (int32_t id : r.tokens) std::printf(" %d", id);
        std::printf("\n");
    }
    const double pp = r.prefill_seconds > 0 ? static_cast<double>(r.n_prompt) / r.prefill_seconds : 0.0;
    // The first generated token comes from the prefill's logits, so decode speed counts the rest.
    const double n_dec = static_cast<double>(r.tokens.size() > 1 ? r.tokens.size() - 1 : 0);
    const double tg = r.decode_seconds > 0 ? n_dec / r.decode_seconds : 0.0;
    std::fprintf(stderr, "\n[%s] prefill: %lld tokens in %.2f s (%.1f tok/s) | decode: %zu tokens in %.2f s (%.1f tok/s) | %d threads\n",
                 r.finish_reason.c_str(), static_cast<long long>(r.n_prompt), r.prefill_seconds, pp, r.tokens.size(),
                 r.decode_seconds, tg, pool.size());
    if (constraint) {
        const auto& st = constraint->stats();
        std::fprintf(stderr, "[grammar] %s | %.2f ms per token in the constraint (%lld checks, %lld masks, %lld forced)\n",
                     constraint->complete() ? "complete" : "incomplete",
                     r.tokens.empty() ? 0.0 : 1000.0 * st.seconds / static_cast<double>(r.tokens.size()),
                     static_cast<long long>(st.allows_calls), static_cast<long long>(st.mask_calls),
                     static_cast<long long>(st.forced));
    }
}

}  // namespace

void register_run(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* sub = app.add_subcommand("run", "complete a prompt, streaming tokens, and report speed");
    add_model_options(*sub, o->model);
    add_sampling_options(*sub, o->sampling);
    auto* p = sub->add_option("-p,--prompt", o->prompt, "prompt text");
    auto* f = sub->add_option("-f,--file", o->prompt_file, "read the prompt from a file");
    p->excludes(f);
    sub->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->capture_default_str()->check(CLI::Range(0, 1 << 24));
    sub->add_flag("--ignore-eos", o->ignore_eos, "keep generating past end-of-generation tokens");
    sub->add_flag("--no-special", o->no_special, "treat special-token text in the prompt as plain text");
    sub->add_flag("--verbose-prompt", o->verbose_prompt, "print the prompt's token ids");
    sub->add_flag("--print-ids", o->print_ids, "print the generated token ids after the text");
    sub->add_option("--stop", o->stop, "stop string (repeatable)");
    auto* gr = sub->add_option("--grammar", o->grammar_file, "constrain the output to a GBNF grammar file (rule 'root')");
    sub->add_option("--json-schema", o->schema_file, "constrain the output to JSON valid under a JSON schema file")
        ->excludes(gr);
    sub->callback([o] {
        if (o->prompt.empty() && o->prompt_file.empty()) throw Error("give a prompt with -p TEXT or -f FILE");
        run(*o);
    });
}

}  // namespace hearth::cli
