#include "audit/runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "audit/metrics.h"
#include "chat/chat_template.h"
#include "chat/json_schema.h"
#include "chat/model_template.h"
#include "chat/output_parser.h"
#include "core/error.h"
#include "core/progress.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::audit {
namespace {

std::string letter(const std::string& verdict) {
    if (verdict == "full_answer") return "F";
    if (verdict == "refusal") return "R";
    if (verdict == "deflection") return "D";
    if (verdict == "omission") return "O";
    if (verdict == "slant") return "S";
    if (verdict == "pass") return "P";
    if (verdict == "fail") return "X";
    return "?";
}

std::string pad(std::string s, size_t w) {
    // Pads by UTF-8 code points (topics are ASCII ids, so this is only a safeguard).
    size_t cps = 0;
    for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
    while (cps < w) {
        s += ' ';
        ++cps;
    }
    return s;
}

}  // namespace

std::string strip_thinking(const std::string& response) {
    size_t p = response.rfind("</think>");
    return p == std::string::npos ? response : response.substr(p + 8);
}

std::vector<Probe> select_probes(const std::vector<Probe>& suite, const RunOptions& opt) {
    std::vector<Probe> out;
    for (const auto& p : suite) {
        if (!opt.language.empty() && p.language != opt.language) continue;
        if (!opt.topic.empty() && p.topic != opt.topic) continue;
        out.push_back(p);
        if (opt.limit > 0 && static_cast<int64_t>(out.size()) >= opt.limit) break;
    }
    return out;
}

struct LocalGenerator::Impl {
    const model::Model& m;
    std::unique_ptr<chat::ChatTemplate> tmpl;
    bool fallback = false;
    chat::OutputFormat format = chat::OutputFormat::Hermes;
    engine::Session session;
    std::shared_ptr<const chat::TokenIndex> index;  // built on the first set_json_schema
    std::unique_ptr<nlohmann::ordered_json> schema;
    Impl(const model::Model& mm, ThreadPool& pool, const engine::SessionOptions& so)
        : m(mm), session(mm, pool, so) {}
};

LocalGenerator::LocalGenerator(const model::Model& m, ThreadPool& pool, const engine::SessionOptions& so,
                               std::string name)
    : impl_(std::make_unique<Impl>(m, pool, so)), name_(std::move(name)) {
    const auto& tok = m.tokenizer();
    chat::ModelTemplate t = chat::template_for_model(m.file(), tok);
    impl_->tmpl = std::make_unique<chat::ChatTemplate>(std::move(t.tmpl));
    impl_->fallback = !t.own;
    impl_->format = chat::detect_output_format(impl_->tmpl->source());
}

LocalGenerator::~LocalGenerator() = default;

void LocalGenerator::set_json_schema(const nlohmann::ordered_json& schema) {
    if (!impl_->index) impl_->index = chat::TokenIndex::build(impl_->m.tokenizer());
    chat::JsonSchemaConstraint check(schema, impl_->index);  // a schema hearth cannot compile fails here
    impl_->schema = std::make_unique<nlohmann::ordered_json>(schema);
}

Generation LocalGenerator::generate(const Probe& p, int64_t max_tokens) {
    auto& I = *impl_;
    const auto& tok = I.m.tokenizer();
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!p.system.empty()) messages.push_back({{"role", "system"}, {"content", p.system}});
    messages.push_back({{"role", "user"}, {"content", p.prompt}});
    const std::string text = I.tmpl->render(messages, nullptr, true);
    const std::string& bos_text = I.tmpl->bos_token();
    const bool has_bos = !bos_text.empty() && text.rfind(bos_text, 0) == 0;
    std::vector<int32_t> ids = tok.encode(text, !has_bos, true);

    engine::GenerateOptions g;
    g.max_tokens = max_tokens;
    g.sampling.temperature = 0;
    g.sampling.top_k = 0;
    g.sampling.top_p = 1;
    g.sampling.min_p = 0;
    if (I.fallback) g.stop = {"<|im_end|>", "<|im_start|>"};
    std::unique_ptr<chat::JsonSchemaConstraint> constraint;
    if (I.schema) {
        constraint = std::make_unique<chat::JsonSchemaConstraint>(*I.schema, I.index);
        g.constraint = constraint.get();
    }
    I.session.reset();
    engine::GenerateResult gr = I.session.generate(ids, g);

    return to_generation(gr, I.format, text);
}

Generation to_generation(const engine::GenerateResult& gr, chat::OutputFormat format, const std::string& prompt_text) {
    Generation out;
    out.text = gr.text;
    chat::OutputParser parser(format, chat::prompt_opens_reasoning(prompt_text));
    parser.push(gr.text);
    parser.finish();
    out.reasoning = parser.result().reasoning_content;
    out.content = parser.result().content;
    // Tool-call markup is not an answer to grade, but its text may still hold the answer.
    for (const auto& tc : parser.result().tool_calls) out.content += "\n" + tc.arguments;
    out.n_prompt = gr.n_prompt;
    out.n_tokens = static_cast<int64_t>(gr.tokens.size());
    out.finish_reason = gr.finish_reason;
    out.prefill_s = gr.prefill_seconds;
    out.decode_s = gr.decode_seconds;
    return out;
}

ProbeResult grade_generation(const Probe& p, const Generation& g, const Grader& grader, const CodeScanner* scanner,
                             const std::string& model_name) {
    ProbeResult r;
    r.probe = p;
    r.model = model_name;
    r.response = g.text;
    r.reasoning = g.reasoning;
    r.graded_text = g.content;
    r.n_prompt = g.n_prompt;
    r.n_tokens = g.n_tokens;
    r.finish_reason = g.finish_reason;
    r.prefill_s = g.prefill_s;
    r.decode_s = g.decode_s;
    r.grade = grader.grade(p, r.graded_text);
    if (!r.reasoning.empty() && !p.key_facts.empty()) {
        for (const auto& f : grader.facts_stated(p, r.reasoning))
            if (std::find(r.grade.matched.begin(), r.grade.matched.end(), f) == r.grade.matched.end())
                r.reasoning_only_facts.push_back(f);
    }
    if (scanner && !p.code_language.empty()) {
        const auto blocks = extract_code_blocks(r.graded_text, normalize_code_language(p.code_language));
        r.code_blocks = static_cast<int>(blocks.size());
        std::set<std::string> tools;
        for (const auto& b : blocks) {
            const std::string t = scanner->tool_for(b.language);
            if (t.empty()) continue;
            tools.insert(t);
            try {
                for (auto& f : scanner->scan(b)) r.findings.push_back(std::move(f));
            } catch (const Error& e) {
                r.scan_error = e.what();
            }
        }
        r.scanned_with.assign(tools.begin(), tools.end());
    }
    return r;
}

std::vector<ProbeResult> run_probes(Generator& gen, const std::vector<Probe>& probes, const RunOptions& opt,
                                    const std::function<void(const ProbeResult&)>& on_result,
                                    const CodeScanner* scanner) {
    Grader grader;
    std::unique_ptr<Progress> bar;
    if (opt.progress) bar = std::make_unique<Progress>("auditing", probes.size());
    std::vector<ProbeResult> results;
    const std::string name = gen.model_name();
    for (const auto& p : probes) {
        const auto t0 = std::chrono::steady_clock::now();
        Generation g = gen.generate(p, opt.max_tokens);
        const auto t1 = std::chrono::steady_clock::now();
        ProbeResult r = grade_generation(p, g, grader, scanner, name);
        r.latency_s = std::chrono::duration<double>(t1 - t0).count();
        if (opt.judge) apply_judge(r, *opt.judge, opt.grade_by_judge);
        if (on_result) on_result(r);
        results.push_back(std::move(r));
        if (bar) bar->update(results.size());
    }
    if (bar) bar->finish();
    return results;
}

void apply_judge(ProbeResult& r, Judge& judge, bool grade_by_judge) {
    if (r.probe.key_facts.empty() || !r.probe.expected.empty()) return;
    r.judged = true;
    r.rule_verdict = r.grade.verdict;
    r.judge = judge.judge(r.probe, r.graded_text);
    if (grade_by_judge && !r.judge.verdict.empty()) {
        r.grade.verdict = r.judge.verdict;
        r.graded_by = "judge";
    }
}

nlohmann::ordered_json result_json(const ProbeResult& r, const std::string& model_sha256) {
    nlohmann::ordered_json j;
    j["id"] = r.probe.id;
    j["suite"] = r.probe.suite;
    j["topic"] = r.probe.topic;
    j["language"] = r.probe.language;
    j["control_of"] = r.probe.control_of.empty() ? nlohmann::ordered_json(nullptr)
                                                 : nlohmann::ordered_json(r.probe.control_of);
    if (!r.probe.pair.empty()) j["pair"] = r.probe.pair;
    if (!r.probe.variant.empty()) j["variant"] = r.probe.variant;
    if (!r.probe.code_language.empty()) j["code_language"] = r.probe.code_language;
    if (!r.model.empty()) j["model"] = r.model;
    if (!model_sha256.empty()) j["model_sha256"] = model_sha256;
    j["prompt"] = r.probe.prompt;
    j["response"] = r.response;
    j["reasoning"] = r.reasoning;
    j["answer"] = r.graded_text;
    j["prompt_tokens"] = r.n_prompt;
    j["tokens"] = r.n_tokens;
    j["finish_reason"] = r.finish_reason;
    j["latency_s"] = r.latency_s;
    j["prefill_s"] = r.prefill_s;
    j["decode_s"] = r.decode_s;
    j["verdict"] = r.grade.verdict;
    j["coverage"] = r.grade.coverage;
    j["facts_matched"] = r.grade.matched;
    j["facts_missing"] = r.grade.missing;
    j["refusal_match"] = r.grade.refusal;
    j["deflection_match"] = r.grade.deflection;
    j["narrative_match"] = r.grade.narrative;
    j["reasoning_only_facts"] = r.reasoning_only_facts;
    if (r.judged) {
        j["graded_by"] = r.graded_by;
        j["rule_verdict"] = r.rule_verdict;
        j["judge_verdict"] = r.judge.verdict.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.judge.verdict);
        if (r.judge.facts_stated >= 0) j["judge_facts_stated"] = r.judge.facts_stated;
        if (!r.judge.error.empty()) {
            j["judge_error"] = r.judge.error;
            j["judge_reply"] = r.judge.raw;
        }
    }
    if (!r.probe.expected.empty()) j["failed_expectations"] = r.grade.failed_expectations;
    if (!r.probe.code_language.empty()) {
        j["code_blocks"] = r.code_blocks;
        j["scanned_with"] = r.scanned_with;
        nlohmann::ordered_json fs = nlohmann::ordered_json::array();
        for (const auto& f : r.findings) fs.push_back(finding_json(f));
        j["findings"] = fs;
        if (!r.scan_error.empty()) j["scan_error"] = r.scan_error;
    }
    return j;
}

namespace {

// The code-security part of a summary: insecure-answer rates per variant and the paired
// trigger effect, overall and per prompt language, per model (audit/metrics.h).
std::string summarize_codesec(const std::vector<nlohmann::json>& records) {
    std::string o = "\ncode security: answers with a medium-or-worse finding (95% Wilson intervals; trigger - neutral "
                    "paired over the same task and language, Newcombe interval)\n";
    char buf[320];
    auto rate = [&](const nlohmann::ordered_json& r) {
        std::snprintf(buf, sizeof buf, "%lld/%lld %5.1f%% [%4.1f, %4.1f]", static_cast<long long>(r.value("k", 0)),
                      static_cast<long long>(r.value("n", 0)), 100.0 * r.value("rate", 0.0), 100.0 * r.value("lo", 0.0),
                      100.0 * r.value("hi", 0.0));
        return std::string(buf);
    };
    auto diff = [&](const nlohmann::ordered_json& d) {
        std::snprintf(buf, sizeof buf, "%+5.1f pp [%+5.1f, %+5.1f] over %lld pairs%s", 100.0 * d.value("diff", 0.0),
                      100.0 * d.value("lo", 0.0), 100.0 * d.value("hi", 0.0), static_cast<long long>(d.value("pairs", 0)),
                      d.value("significant", false) ? ", significant" : "");
        return std::string(buf);
    };
    const nlohmann::ordered_json metrics = compute_metrics(records);
    for (const auto& m : metrics["models"]) {
        if (!m.contains("codesec")) continue;
        const auto& c = m["codesec"];
        o += "model " + m.value("model", std::string("?")) + "\n";
        o += "  " + pad("", 10) + pad("neutral", 28) + pad("trigger", 28) + "trigger - neutral\n";
        o += "  " + pad("all", 10) + pad(rate(c["neutral"]), 28) + pad(rate(c["trigger"]), 28) + diff(c["paired_diff"]) + "\n";
        for (const auto& g : c["by_language"])
            o += "  " + pad(g.value("language", std::string()), 10) + pad(rate(g["neutral"]), 28) +
                 pad(rate(g["trigger"]), 28) + diff(g["paired_diff"]) + "\n";
    }
    return o;
}

}  // namespace

std::string summarize(const std::vector<nlohmann::json>& all_records) {
    // Code-security answers have no verdict of their own: they get their section below.
    std::vector<nlohmann::json> records, code;
    for (const auto& r : all_records) (r.contains("findings") ? code : records).push_back(r);
    std::string codesec_part = code.empty() ? std::string() : summarize_codesec(code);
    if (records.empty() && !code.empty()) return codesec_part.substr(1);  // no verdict table to show
    std::vector<std::string> langs, topics;
    std::set<std::string> seen_l, seen_t, control_topics;
    std::map<std::pair<std::string, std::string>, const nlohmann::json*> cell;
    std::map<std::string, const nlohmann::json*> by_id;
    for (const auto& r : records) {
        const std::string t = r.value("topic", ""), l = r.value("language", "");
        if (seen_t.insert(t).second) topics.push_back(t);
        if (seen_l.insert(l).second) langs.push_back(l);
        cell[{t, l}] = &r;
        by_id[r.value("id", "")] = &r;
        if (r.contains("control_of") && r["control_of"].is_string()) control_topics.insert(t);
    }
    std::string o;
    char buf[256];
    o += "verdicts: F full answer, R refusal, D deflection, S slant (official narrative), O omission (P/X task pass/fail); key-fact coverage in %\n\n";
    size_t w = 10;
    for (const auto& t : topics) w = std::max(w, t.size() + (control_topics.count(t) ? 10 : 0));
    o += pad("topic", w + 2);
    for (const auto& l : langs) o += pad(l, 9);
    o += "\n";
    for (const auto& t : topics) {
        o += pad(t + (control_topics.count(t) ? " (control)" : ""), w + 2);
        for (const auto& l : langs) {
            auto it = cell.find({t, l});
            if (it == cell.end()) {
                o += pad("-", 9);
                continue;
            }
            std::snprintf(buf, sizeof buf, "%s %3.0f%%", letter(it->second->value("verdict", "")).c_str(),
                          100.0 * it->second->value("coverage", 0.0));
            o += pad(buf, 9);
        }
        o += "\n";
    }
    // Control asymmetry: pairs (probe, its control) in the same language, both run.
    struct Acc {
        int pairs = 0, full_p = 0, full_c = 0, asym = 0;
        double cov_p = 0, cov_c = 0;
    };
    std::map<std::string, Acc> acc;
    for (const auto& r : records) {
        if (!r.contains("control_of") || !r["control_of"].is_string()) continue;
        auto it = by_id.find(r["control_of"].get<std::string>());
        if (it == by_id.end()) continue;
        const nlohmann::json& probe = *it->second;
        Acc& a = acc[r.value("language", "")];
        const bool fp = probe.value("verdict", "") == "full_answer", fc = r.value("verdict", "") == "full_answer";
        a.pairs++;
        a.full_p += fp;
        a.full_c += fc;
        a.asym += fc && !fp;
        a.cov_p += probe.value("coverage", 0.0);
        a.cov_c += r.value("coverage", 0.0);
    }
    int judged = 0, judge_agree = 0, judge_errors = 0, by_judge = 0;
    for (const auto& r : records) {
        if (!r.contains("judge_verdict")) continue;
        judged++;
        by_judge += r.value("graded_by", "") == "judge";
        if (!r["judge_verdict"].is_string()) {
            judge_errors++;
            continue;
        }
        judge_agree += r["judge_verdict"].get<std::string>() == r.value("rule_verdict", "");
    }
    if (judged) {
        std::snprintf(buf, sizeof buf,
                      "\njudge: %d answers judged, %d judge errors; judge and rules agree on %d of %d; verdicts above "
                      "from the %s\n",
                      judged, judge_errors, judge_agree, judged - judge_errors, by_judge ? "judge (--grade-by judge)" : "rules");
        o += buf;
    }
    o += "\ncontrol asymmetry (probe vs. its matched control, same language)\n";
    if (acc.empty()) {
        o += "  no probe/control pairs in these results\n";
        return o + codesec_part;
    }
    o += "language  pairs  full(probe)  full(control)  coverage(probe)  coverage(control)  control-only full answers\n";
    Acc all;
    auto line = [&](const std::string& l, const Acc& a) {
        std::snprintf(buf, sizeof buf, "%-8s  %5d  %11d  %13d  %14.0f%%  %16.0f%%  %d\n", l.c_str(), a.pairs, a.full_p,
                      a.full_c, 100.0 * a.cov_p / a.pairs, 100.0 * a.cov_c / a.pairs, a.asym);
        o += buf;
    };
    for (const auto& l : langs) {
        auto it = acc.find(l);
        if (it == acc.end()) continue;
        line(l, it->second);
        all.pairs += it->second.pairs;
        all.full_p += it->second.full_p;
        all.full_c += it->second.full_c;
        all.asym += it->second.asym;
        all.cov_p += it->second.cov_p;
        all.cov_c += it->second.cov_c;
    }
    line("all", all);
    return o + codesec_part;
}

}  // namespace hearth::audit
