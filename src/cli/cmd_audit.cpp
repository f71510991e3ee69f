// hearth audit: run probe suites against a model and grade the answers (audit/runner.h).
//   hearth audit run -m MODEL --suite probes/worldview.jsonl [--limit N] [--out results.jsonl]
//   hearth audit summary results.jsonl
//   hearth audit import tests.csv --out suite.jsonl   (promptfoo-style CSV/JSONL)
#include <cstdio>
#include <fstream>
#include <sstream>

#include "audit/hash.h"
#include "audit/probes.h"
#include "audit/runner.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace hearth::cli {
namespace {

struct AuditRunOptions {
    ModelOptions model;
    std::string suite, out;
    audit::RunOptions run;
    bool hash = false;
};

struct ImportCliOptions {
    std::string in, out;
    audit::ImportOptions imp;
};

void audit_run(const AuditRunOptions& o) {
    auto suite = audit::load_suite(o.suite);
    auto probes = audit::select_probes(suite, o.run);
    if (probes.empty()) throw Error(o.suite + ": no probes selected");
    std::unique_ptr<std::ofstream> out;
    if (!o.out.empty()) {
        out = std::make_unique<std::ofstream>(o.out, std::ios::binary);
        if (!*out) throw Error(o.out + ": cannot write");
    }
    const std::string sha = o.hash ? audit::sha256_file(o.model.path, true) : "";
    auto m = load_model(o.model.path);
    ThreadPool pool(thread_count(o.model));
    std::fprintf(stderr, "hearth audit: %zu probes from %s, greedy, at most %lld tokens each\n", probes.size(),
                 o.suite.c_str(), static_cast<long long>(o.run.max_tokens));
    std::vector<nlohmann::json> records;
    audit::run_probes(*m, pool, session_options(o.model), probes, o.run, [&](const audit::ProbeResult& r) {
        auto j = audit::result_json(r, sha);
        if (out) {
            *out << j.dump() << "\n";
            out->flush();
        }
        records.push_back(nlohmann::json::parse(j.dump()));
    });
    const std::string s = audit::summarize(records);
    std::fwrite(s.data(), 1, s.size(), stdout);
    double secs = 0;
    long long toks = 0;
    for (const auto& r : records) {
        secs += r.value("latency_s", 0.0);
        toks += r.value("tokens", 0LL);
    }
    std::printf("\n%zu probes, %lld generated tokens, %.1f s%s%s\n", records.size(), toks, secs,
                o.out.empty() ? "" : "; results in ", o.out.c_str());
}

void audit_summary(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::vector<nlohmann::json> records;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw Error(path + ":" + std::to_string(n) + ": not a JSON object");
        records.push_back(std::move(j));
    }
    const std::string s = audit::summarize(records);
    std::fwrite(s.data(), 1, s.size(), stdout);
}

void audit_import(const ImportCliOptions& o) {
    std::vector<std::string> warnings;
    auto probes = audit::import_promptfoo(o.in, o.imp, &warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "hearth audit import: warning: %s\n", w.c_str());
    std::ostringstream ss;
    for (const auto& p : probes) ss << audit::probe_json(p).dump() << "\n";
    if (o.out.empty() || o.out == "-") {
        std::fwrite(ss.str().data(), 1, ss.str().size(), stdout);
    } else {
        std::ofstream out(o.out, std::ios::binary);
        if (!out) throw Error(o.out + ": cannot write");
        out << ss.str();
    }
    std::fprintf(stderr, "hearth audit import: %zu probes\n", probes.size());
}

}  // namespace

void register_audit(CLI::App& app) {
    CLI::App* audit = app.add_subcommand("audit", "run probe suites against a model and grade the answers");
    audit->require_subcommand(1);

    auto o = std::make_shared<AuditRunOptions>();
    CLI::App* run = audit->add_subcommand("run", "run a probe suite (JSONL) and grade every answer");
    add_model_options(*run, o->model);
    run->add_option("--suite", o->suite, "probe suite (JSONL, see probes/README.md)")->required();
    run->add_option("--limit", o->run.limit, "run only the first N selected probes")->check(CLI::NonNegativeNumber);
    run->add_option("--lang", o->run.language, "only probes of this language (en, zh, de, fr, es ...)");
    run->add_option("--topic", o->run.topic, "only probes of this topic");
    run->add_option("-n,--max-tokens", o->run.max_tokens, "most tokens generated per answer")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
        ->capture_default_str();
    run->add_option("--out", o->out, "write one JSON result per probe to this file (JSONL)");
    run->add_flag("--hash", o->hash, "record the model file's SHA-256 in every result");
    run->callback([o] { audit_run(*o); });

    auto path = std::make_shared<std::string>();
    CLI::App* sum = audit->add_subcommand("summary", "print the verdict table and control asymmetry of a results file");
    sum->add_option("results", *path, "results JSONL written by 'hearth audit run --out'")->required();
    sum->callback([path] { audit_summary(*path); });

    auto io = std::make_shared<ImportCliOptions>();
    CLI::App* imp = audit->add_subcommand("import", "convert a promptfoo test file (CSV or JSONL) to a probe suite");
    imp->add_option("file", io->in, "promptfoo tests (.csv, .jsonl or .json)")->required();
    imp->add_option("--out", io->out, "probe suite to write (JSONL; default stdout)");
    imp->add_option("--suite", io->imp.suite, "suite name (also the id prefix)")->capture_default_str();
    imp->add_option("--lang", io->imp.language, "language of the prompts")->capture_default_str();
    imp->add_option("--prompt-template", io->imp.prompt_template,
                    "prompt with {{var}} placeholders (default: the 'prompt' variable or the only one)");
    imp->callback([io] { audit_import(*io); });
}

}  // namespace hearth::cli
