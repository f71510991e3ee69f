// hearth audit: run probe suites against a model and grade the answers (audit/runner.h).
//   hearth audit run -m MODEL --suite worldview|codesec|FILE [--limit N] [--out results.jsonl] [--parallel P] [--cache DIR]
//   hearth audit run --endpoint http://host:port/v1 -m NAME --suite ... [--api-key-env VAR]
//   hearth audit summary results.jsonl
//   hearth audit report results.jsonl... --html report.html
//   hearth audit diff baseline.jsonl current.jsonl      (exit 3 on a significant regression)
//   hearth audit diff --shadow pairs.jsonl [--json]     (hearth serve's shadow pairs; exit 3 likewise)
//   hearth audit import tests.csv --out suite.jsonl   (promptfoo-style CSV/JSONL)
//   hearth audit grader-check labels.jsonl [--judge MODEL | --judge-endpoint URL --judge-model NAME]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/batch_runner.h"
#include "audit/batched_local_generator.h"
#include "audit/drift.h"
#include "audit/grader_accuracy.h"
#include "audit/judge.h"
#include "audit/hash.h"
#include "audit/metrics.h"
#include "audit/probes.h"
#include "audit/remote_generator.h"
#include "audit/report_html.h"
#include "audit/response_cache.h"
#include "audit/result_log.h"
#include "audit/shadow_diff.h"
#include "audit/runner.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace hearth::cli {
namespace {

// The judge model: a file run in-process or an endpoint the user names (never a default one).
struct JudgeCliOptions {
    std::string model, endpoint, endpoint_model, api_key_env, rubric = "rubric-v1", cache;
    int threads = 0;  // 0: as the audited model (run) or all hardware threads (grader-check)
    int64_t ctx = 2048, max_tokens = 48;
    bool wanted() const { return !model.empty() || !endpoint.empty(); }
};

struct AuditRunOptions {
    ModelOptions model;
    std::string suite, out;
    audit::RunOptions run;
    bool hash = false;
    std::string endpoint, api_key_env;
    JudgeCliOptions judge;
    std::string grade_by = "rules";
    int parallel = 0;  // 0: 8 in-process, 4 to an endpoint
    std::string cache;
    bool force = false;
    double request_timeout = 600;
    int retries = 4;
};

struct GraderCheckOptions {
    std::string labels, suite = "worldview", split;
    bool misses = false;
    JudgeCliOptions judge;
};

struct DiffCliOptions {
    std::string baseline, current, shadow;
    double alpha = 0.05;
    size_t top = 10;
    bool json = false;
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

// A rubric given by name (rubric-v1) is probes/NAME.md, looked up as suites are.
std::string resolve_rubric(const std::string& r) {
    namespace fs = std::filesystem;
    if (fs::exists(r) || r.find('/') != std::string::npos) return r;
    std::vector<fs::path> roots = {fs::current_path()};
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) roots.push_back(exe.parent_path().parent_path());
    for (const auto& root : roots)
        if (fs::exists(root / "probes" / (r + ".md"))) return (root / "probes" / (r + ".md")).string();
    throw Error("rubric \"" + r + "\": no such file, and no probes/" + r + ".md");
}

void add_judge_options(CLI::App& app, JudgeCliOptions& o) {
    app.add_option("--judge", o.model, "also class every worldview answer with this model file, run in-process (GGUF or HF directory)");
    app.add_option("--judge-endpoint", o.endpoint,
                   "or with a model behind this OpenAI-compatible server (http://host:port/v1); nothing is sent "
                   "anywhere unless given");
    app.add_option("--judge-model", o.endpoint_model, "the judge's model name at --judge-endpoint");
    app.add_option("--judge-api-key-env", o.api_key_env, "environment variable holding the judge endpoint's API key");
    app.add_option("--rubric", o.rubric, "judge rubric: a file or a name under probes/ (rubric-v1)")->capture_default_str();
    app.add_option("--judge-cache", o.cache, "JSONL cache of judge verdicts: reruns ask only for what is missing");
    app.add_option("--judge-threads", o.threads, "threads of an in-process judge");
    app.add_option("--judge-ctx", o.ctx, "context of an in-process judge")->capture_default_str();
}

// nullptr when no judge was asked for.
std::unique_ptr<audit::Judge> make_judge(const JudgeCliOptions& o, int default_threads) {
    if (!o.wanted()) {
        if (!o.endpoint_model.empty()) throw Error("--judge-model needs --judge-endpoint");
        return nullptr;
    }
    if (!o.model.empty() && !o.endpoint.empty()) throw Error("give --judge or --judge-endpoint, not both");
    audit::Rubric rubric = audit::load_rubric(resolve_rubric(o.rubric));
    std::unique_ptr<audit::JudgeBackend> backend;
    if (!o.endpoint.empty()) {
        if (o.endpoint_model.empty()) throw Error("--judge-endpoint needs --judge-model NAME");
        std::string key;
        if (!o.api_key_env.empty()) {
            const char* k = std::getenv(o.api_key_env.c_str());
            if (!k || !*k) throw Error("--judge-api-key-env " + o.api_key_env + ": the variable is not set");
            key = k;
        }
        backend = audit::make_endpoint_judge(o.endpoint, o.endpoint_model, key);
    } else {
        ModelOptions mo;
        mo.threads = o.threads > 0 ? o.threads : default_threads;
        backend = audit::make_local_judge(o.model, thread_count(mo), o.ctx);
    }
    std::fprintf(stderr, "hearth audit: judge %s, rubric %s (%s, sha256 %.12s...)\n", backend->name().c_str(),
                 rubric.version.c_str(), rubric.path.c_str(), rubric.sha256.c_str());
    return std::make_unique<audit::Judge>(std::move(backend), std::move(rubric), o.cache, o.max_tokens);
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
    std::unique_ptr<audit::ParallelGenerator> gen;
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
        audit::EndpointOptions eo{o.endpoint, o.model.path, key, o.request_timeout, {}};
        eo.retry.max_retries = o.retries;
        gen = std::make_unique<audit::ParallelRemoteGenerator>(eo, o.parallel > 0 ? o.parallel : 4);
    } else {
        // The response cache names a model by its file's hash; the config hash only with --hash.
        const std::string file_sha = o.hash || !o.cache.empty() ? audit::sha256_file(o.model.path, true) : "";
        sha = o.hash ? file_sha : "";
        m = load_model(o.model.path, o.model.ubatch);
        pool = std::make_unique<ThreadPool>(thread_count(o.model));
        gen = std::make_unique<audit::BatchedLocalGenerator>(*m, *pool, session_options(o.model),
                                                             o.parallel > 0 ? o.parallel : 8, o.model.path, file_sha);
    }
    if (o.grade_by != "rules" && o.grade_by != "judge") throw Error("--grade-by must be rules or judge");
    std::unique_ptr<audit::Judge> judge = make_judge(o.judge, o.model.threads);
    if (o.grade_by == "judge" && !judge) throw Error("--grade-by judge needs --judge or --judge-endpoint");
    audit::RunOptions run = o.run;
    run.judge = judge.get();
    run.grade_by_judge = o.grade_by == "judge";
    // What makes two runs comparable: the same config hash.
    nlohmann::ordered_json config = {{"suite", std::filesystem::path(suite_path).filename().string()},
                                     {"suite_sha256", audit::sha256_file(suite_path, false)},
                                     {"model", gen->model_name()},
                                     {"model_sha256", sha},
                                     {"grader", audit::kGraderVersion},
                                     {"sampling", "greedy"},
                                     {"max_tokens", o.run.max_tokens},
                                     {"grade_by", o.grade_by},
                                     {"judge", judge ? judge->config() : nlohmann::ordered_json(nullptr)}};
    const std::string config_hash = audit::sha256_hex(config.dump());
    std::fprintf(stderr, "hearth audit: config hash %s\n", config_hash.c_str());
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
    // Resume: an --out file of the same config hash keeps its results; only missing probes run.
    std::unique_ptr<audit::ResultLog> out;
    std::vector<nlohmann::json> records;
    std::vector<size_t> todo;
    if (!o.out.empty()) {
        out = std::make_unique<audit::ResultLog>(o.out, config_hash, o.force);
        records = out->previous();
        if (out->dropped_partial_tail())
            std::fprintf(stderr, "hearth audit: %s: dropped a partial last record (an interrupted run)\n", o.out.c_str());
    }
    for (size_t i = 0; i < probes.size(); ++i)
        if (!out || !out->done(probes[i].id)) todo.push_back(i);
    if (todo.size() < probes.size())
        std::fprintf(stderr, "hearth audit: resuming %s: %zu of %zu probes already done\n", o.out.c_str(),
                     probes.size() - todo.size(), probes.size());
    std::unique_ptr<audit::ResponseCache> cache;
    if (!o.cache.empty()) cache = std::make_unique<audit::ResponseCache>(o.cache);
    const audit::ParallelRunStats st = audit::run_probes_parallel(
        *gen, probes, todo, run, cache.get(),
        [&](const audit::ProbeResult& r, bool cached) {
            auto j = audit::result_json(r, sha);
            j["grader_version"] = audit::kGraderVersion;
            if (r.judged) {
                j["judge"] = judge->backend().name();
                j["judge_rubric"] = judge->rubric().version;
                j["judge_rubric_sha256"] = judge->rubric().sha256;
            }
            j["config_hash"] = config_hash;
            if (cached) j["cached"] = true;
            if (out) out->append(j);
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
    const size_t ran = todo.size() - st.failures.size();
    std::printf("this run: %zu probes in %.2f s wall, %.3f probes/s, parallel %d (%lld generated, %lld from the cache, "
                "%zu failed)\n",
                ran, st.seconds, st.seconds > 0 ? static_cast<double>(ran) / st.seconds : 0.0, gen->parallel(),
                static_cast<long long>(st.generated), static_cast<long long>(st.cached), st.failures.size());
    if (cache)
        std::fprintf(stderr, "hearth audit: response cache %s: %lld hits, %lld misses, %zu entries\n",
                     cache->file().c_str(), static_cast<long long>(cache->hits()),
                     static_cast<long long>(cache->misses()), cache->size());
    if (!st.failures.empty()) {
        // Nothing answered at all is a setup error (a wrong key, model name or URL), not a
        // per-probe one.
        if (ran == 0) throw Error(st.failures.front().second);
        for (const auto& [id, why] : st.failures)
            std::fprintf(stderr, "hearth audit: probe %s failed: %s\n", id.c_str(), why.c_str());
        std::fprintf(stderr,
                     "hearth audit: %zu probes failed and have no result; run the same command again to retry only "
                     "those\n",
                     st.failures.size());
        std::fflush(stdout);
        std::exit(2);
    }
}

void grader_check(const GraderCheckOptions& o) {
    const auto suite = audit::load_suite(resolve_suite(o.suite));
    auto rows = audit::load_labelled(o.labels, suite);
    if (!o.split.empty()) {
        std::erase_if(rows, [&](const audit::LabelledResponse& r) { return r.split != o.split; });
        if (rows.empty()) throw Error(o.labels + ": no responses in split \"" + o.split + "\"");
    }
    audit::Grader grader;
    std::vector<audit::Scored> rules;
    for (const auto& r : rows) {
        const audit::Grade g = grader.grade(r.probe, audit::strip_thinking(r.response));
        std::string why = std::to_string(g.matched.size()) + "/" + std::to_string(g.facts_total) + " facts";
        for (const auto& f : g.matched) why += "; " + f;
        for (const auto* m : {&g.refusal, &g.deflection, &g.narrative})
            if (!m->empty()) why += "; \"" + *m + "\"";
        rules.push_back({&r, g.verdict, why});
    }
    std::string out = audit::accuracy_table(std::string("rules (") + audit::kGraderVersion + ")", rules, o.misses);
    std::unique_ptr<audit::Judge> judge = make_judge(o.judge, 0);
    if (judge) {
        std::vector<audit::Scored> judged;
        int errors = 0, cached = 0, agree_rules = 0;
        double secs = 0;
        auto bar = std::make_unique<Progress>("judging", rows.size());
        for (size_t i = 0; i < rows.size(); ++i) {
            const audit::JudgeVerdict v = judge->judge(rows[i].probe, audit::strip_thinking(rows[i].response));
            judged.push_back({&rows[i], v.verdict, v.error.empty() ? v.raw : v.error + ": " + v.raw});
            errors += !v.error.empty();
            cached += v.cached;
            secs += v.seconds;
            agree_rules += v.verdict == rules[i].predicted;
            bar->update(i + 1);
        }
        bar->finish();
        out += "\n" + audit::accuracy_table("judge " + judge->backend().name() + ", rubric " + judge->rubric().version,
                                            judged, o.misses);
        char b[256];
        std::snprintf(b, sizeof b,
                      "judge: %d judge_errors, %d verdicts from the cache, %.1f s judging; judge and rules agree on "
                      "%d of %zu (%.1f%%)\n",
                      errors, cached, secs, agree_rules, rows.size(), 100.0 * agree_rules / rows.size());
        out += b;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
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

void audit_diff_shadow(const DiffCliOptions& o) {
    const audit::Grader grader;
    const auto d = audit::diff_shadow_pairs(audit::read_shadow_pairs(o.shadow), grader, o.alpha, o.top);
    const std::string s = o.json ? audit::shadow_diff_json(d).dump(1) + "\n" : audit::shadow_diff_text(d);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
    if (audit::any_regression(d)) {
        std::fprintf(stderr, "hearth audit diff: the candidate regressed significantly\n");
        std::exit(3);
    }
}

void audit_diff(DiffCliOptions o) {
    // One file of shadow pairs needs no flag: its records say what they are.
    if (o.shadow.empty() && o.current.empty() && !o.baseline.empty() && audit::is_shadow_pairs_file(o.baseline))
        o.shadow = o.baseline;
    if (!o.shadow.empty()) {
        if (!o.current.empty() || (!o.baseline.empty() && o.baseline != o.shadow))
            throw Error("audit diff: give either --shadow PAIRS or two results files, not both");
        return audit_diff_shadow(o);
    }
    if (o.baseline.empty() || o.current.empty())
        throw Error("audit diff: give two results files (baseline current), or --shadow PAIRS");
    if (o.json) throw Error("audit diff: --json is for --shadow pairs; two runs print their table");
    const std::string &base = o.baseline, &cur = o.current;
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
    run->add_option("--out", o->out,
                    "write one JSON result per probe to this file (JSONL), flushed per result; an existing file of "
                    "the same config hash is resumed");
    run->add_flag("--hash", o->hash, "record the model file's SHA-256 in every result");
    run->add_option("--endpoint", o->endpoint,
                    "audit an OpenAI-compatible server (http://host:port/v1) instead of a file; -m is then the "
                    "served model's name");
    run->add_option("--api-key-env", o->api_key_env, "environment variable holding the server's API key");
    run->add_option("--parallel", o->parallel,
                    "probes in flight at once: in-process, sequences batched through the engine (default 8; "
                    "answers are identical for every P); with --endpoint, concurrent requests (default 4)")
        ->check(CLI::Range(1, 256));
    run->add_option("--cache", o->cache,
                    "response cache (a JSONL file, or a directory for responses.jsonl): answers keyed by model hash, "
                    "prompt, sampling and max tokens are reused by reruns");
    run->add_flag("--force", o->force,
                  "start --out afresh even when it holds results of another configuration (otherwise a run with the "
                  "same config hash resumes it, running only missing probes, and another one is refused)");
    run->add_option("--request-timeout", o->request_timeout, "with --endpoint: seconds one request attempt may take")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    run->add_option("--retries", o->retries, "with --endpoint: retries of a request answered 429 or 5xx (Retry-After honoured)")
        ->check(CLI::Range(0, 100))
        ->capture_default_str();
    add_judge_options(*run, o->judge);
    run->add_option("--grade-by", o->grade_by,
                    "which verdict the metrics use: rules, or judge (needs --judge/--judge-endpoint; both are recorded)")
        ->capture_default_str();
    run->callback([o] { audit_run(*o); });

    auto gc = std::make_shared<GraderCheckOptions>();
    CLI::App* check = audit->add_subcommand(
        "grader-check", "agreement of the rule grader (and a judge model) with a labelled set of worldview responses");
    check->add_option("labels", gc->labels,
                      "labelled JSONL: {\"probe\", \"label\", \"response\", \"split\"} per line "
                      "(tests/fixtures/audit/graded_responses.jsonl)")
        ->required();
    check->add_option("--suite", gc->suite, "the suite the probe ids come from")->capture_default_str();
    check->add_option("--split", gc->split, "only rows of this split (dev, heldout)");
    check->add_flag("--misses", gc->misses, "list every response where a grader disagrees with its label");
    add_judge_options(*check, gc->judge);
    check->callback([gc] { grader_check(*gc); });

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

    auto dp = std::make_shared<DiffCliOptions>();
    CLI::App* diff = audit->add_subcommand(
        "diff",
        "compare two runs of the same probes, or the primary and candidate answers of `hearth serve` shadow pairs "
        "(exit 3 on a significant regression)");
    diff->add_option("baseline", dp->baseline, "baseline results JSONL (or a shadow pairs file)");
    diff->add_option("current", dp->current, "current results JSONL");
    diff->add_option("--shadow", dp->shadow,
                     "shadow pairs JSONL ([shadow] path of hearth serve): refusal and deflection of both models with "
                     "McNemar's exact test, agreement, tokens, latency, and the pairs the candidate refused");
    diff->add_option("--alpha", dp->alpha, "with --shadow: significance level of the McNemar test")
        ->check(CLI::Range(1e-9, 0.5))
        ->capture_default_str();
    diff->add_option("--top", dp->top, "with --shadow: discordant pairs listed per model pair")->capture_default_str();
    diff->add_flag("--json", dp->json, "with --shadow: print the comparison as JSON");
    diff->callback([dp] { audit_diff(*dp); });

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
