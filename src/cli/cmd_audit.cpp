// hearth audit: run probe suites against a model and grade the answers (audit/runner.h).
//   hearth audit run -m MODEL --suite worldview|codesec|FILE [--limit N] [--out results.jsonl]
//   hearth audit run --endpoint http://host:port/v1 -m NAME --suite ... [--api-key-env VAR]
//   hearth audit summary results.jsonl
//   hearth audit report results.jsonl... --html report.html
//   hearth audit diff baseline.jsonl current.jsonl      (exit 3 on a significant regression)
//   hearth audit import tests.csv --out suite.jsonl   (promptfoo-style CSV/JSONL)
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/drift.h"
#include "audit/hash.h"
#include "audit/metrics.h"
#include "audit/probes.h"
#include "audit/remote_generator.h"
#include "audit/report_html.h"
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
    std::string endpoint, api_key_env;
};

struct ReportCliOptions {
    std::vector<std::string> results;
    std::string html, title = "hearth audit report";
};

// A suite given by name (worldview, codesec, tasks-example) is probes/NAME.jsonl, looked up
// from the working directory and from the folder above the hearth binary (build/..).
std::string resolve_suite(const std::string& s) {
    namespace fs = std::filesystem;
    if (fs::exists(s) || s.find('/') != std::string::npos || s.find(".jsonl") != std::string::npos) return s;
    std::vector<fs::path> roots = {fs::current_path()};
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) roots.push_back(exe.parent_path().parent_path());
    for (const auto& r : roots)
        if (fs::exists(r / "probes" / (s + ".jsonl"))) return (r / "probes" / (s + ".jsonl")).string();
    throw Error("suite \"" + s + "\": no such file, and no probes/" + s + ".jsonl");
}

struct ImportCliOptions {
    std::string in, out;
    audit::ImportOptions imp;
};

void audit_run(const AuditRunOptions& o) {
    const std::string suite_path = resolve_suite(o.suite);
    auto suite = audit::load_suite(suite_path);
    auto probes = audit::select_probes(suite, o.run);
    if (probes.empty()) throw Error(suite_path + ": no probes selected");
    std::unique_ptr<std::ofstream> out;
    if (!o.out.empty()) {
        out = std::make_unique<std::ofstream>(o.out, std::ios::binary);
        if (!*out) throw Error(o.out + ": cannot write");
    }
    std::unique_ptr<audit::Generator> gen;
    std::unique_ptr<model::Model> m;
    std::unique_ptr<ThreadPool> pool;
    std::string sha;
    if (!o.endpoint.empty()) {
        std::string key;
        if (!o.api_key_env.empty()) {
            const char* k = std::getenv(o.api_key_env.c_str());
            if (!k || !*k) throw Error("--api-key-env " + o.api_key_env + ": the variable is not set");
            key = k;
        }
        gen = std::make_unique<audit::RemoteGenerator>(o.endpoint, o.model.path, key);
    } else {
        sha = o.hash ? audit::sha256_file(o.model.path, true) : "";
        m = load_model(o.model.path);
        pool = std::make_unique<ThreadPool>(thread_count(o.model));
        gen = std::make_unique<audit::LocalGenerator>(*m, *pool, session_options(o.model), o.model.path);
    }
    audit::CodeScanner scanner;
    bool code = false;
    for (const auto& p : probes) code |= !p.code_language.empty();
    if (code)
        for (const char* l : {"python", "c", "shell"})
            if (scanner.tool_for(l).empty())
                std::fprintf(stderr, "hearth audit: warning: no analyser for %s code (scripts/install-audit-tools.sh)\n",
                             l);
    std::fprintf(stderr, "hearth audit: %zu probes from %s, greedy, at most %lld tokens each%s%s\n", probes.size(),
                 suite_path.c_str(), static_cast<long long>(o.run.max_tokens), o.endpoint.empty() ? "" : ", via ",
                 o.endpoint.c_str());
    std::vector<nlohmann::json> records;
    audit::run_probes(
        *gen, probes, o.run,
        [&](const audit::ProbeResult& r) {
            auto j = audit::result_json(r, sha);
            if (out) {
                *out << j.dump() << "\n";
                out->flush();
            }
            records.push_back(nlohmann::json::parse(j.dump()));
        },
        &scanner);
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

void audit_report(const ReportCliOptions& o) {
    std::vector<nlohmann::json> records;
    for (const auto& f : o.results) {
        auto r = audit::read_results(f);
        records.insert(records.end(), r.begin(), r.end());
    }
    audit::ReportOptions ro;
    ro.title = o.title;
    ro.sources = o.results;
    const std::string html = audit::render_report(records, ro);
    std::ofstream out(o.html, std::ios::binary);
    if (!out) throw Error(o.html + ": cannot write");
    out << html;
    if (!out) throw Error(o.html + ": write failed");
    std::fprintf(stderr, "hearth audit report: %zu results -> %s\n", records.size(), o.html.c_str());
}

void audit_diff(const std::string& base, const std::string& cur) {
    const auto rows = audit::compare_runs(audit::read_results(base), audit::read_results(cur));
    const std::string s = audit::drift_text(rows);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
    if (audit::any_regression(rows)) {
        std::fprintf(stderr, "hearth audit diff: significant regression\n");
        std::exit(3);
    }
}

void audit_summary(const std::string& path) {
    const std::string s = audit::summarize(audit::read_results(path));
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
    run->add_option("--suite", o->suite,
                    "probe suite: a JSONL file (probes/README.md) or a name (worldview, codesec, tasks-example)")
        ->required();
    run->add_option("--limit", o->run.limit, "run only the first N selected probes")->check(CLI::NonNegativeNumber);
    run->add_option("--lang", o->run.language, "only probes of this language (en, zh, de, fr, es ...)");
    run->add_option("--topic", o->run.topic, "only probes of this topic");
    run->add_option("-n,--max-tokens", o->run.max_tokens, "most tokens generated per answer")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
        ->capture_default_str();
    run->add_option("--out", o->out, "write one JSON result per probe to this file (JSONL)");
    run->add_flag("--hash", o->hash, "record the model file's SHA-256 in every result");
    run->add_option("--endpoint", o->endpoint,
                    "audit an OpenAI-compatible server (http://host:port/v1) instead of a file; -m is then the "
                    "served model's name");
    run->add_option("--api-key-env", o->api_key_env, "environment variable holding the server's API key");
    run->callback([o] { audit_run(*o); });

    auto path = std::make_shared<std::string>();
    CLI::App* sum = audit->add_subcommand("summary", "print the verdict table and control asymmetry of a results file");
    sum->add_option("results", *path, "results JSONL written by 'hearth audit run --out'")->required();
    sum->callback([path] { audit_summary(*path); });

    auto ro = std::make_shared<ReportCliOptions>();
    CLI::App* rep = audit->add_subcommand("report", "write a self-contained HTML report of results files");
    rep->add_option("results", ro->results, "results JSONL files (several models may be combined)")->required();
    rep->add_option("--html", ro->html, "HTML file to write")->required();
    rep->add_option("--title", ro->title, "report title")->capture_default_str();
    rep->callback([ro] { audit_report(*ro); });

    auto dp = std::make_shared<std::pair<std::string, std::string>>();
    CLI::App* diff =
        audit->add_subcommand("diff", "compare two runs of the same probes (exit 3 on a significant regression)");
    diff->add_option("baseline", dp->first, "baseline results JSONL")->required();
    diff->add_option("current", dp->second, "current results JSONL")->required();
    diff->callback([dp] { audit_diff(dp->first, dp->second); });

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
