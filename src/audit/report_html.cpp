#include "audit/report_html.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "audit/metrics.h"
#include "core/html_escape.h"

namespace hearth::audit {
namespace {

using ojson = nlohmann::ordered_json;

const char* kStyle = R"(body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}.sig{font-weight:bold;color:#b00}
.v-full_answer{background:#cfc}.v-refusal{background:#f99}.v-deflection{background:#fc9}.v-omission{background:#ffc}
.v-slant{background:#f9c}.note{color:#666;font-size:0.9em}canvas{max-width:900px;max-height:360px}
section.model{border-top:3px solid #444;margin-top:2em})";

std::string pct(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100 * x);
    return b;
}

std::string num(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", x);
    return b;
}

// A rate cell: the rate with its interval, the exact value in data attributes.
std::string rate_td(const ojson& r, const std::string& metric, const std::string& group) {
    if (!r.is_object() || r.value("n", 0) == 0) return "<td>-</td>";
    return "<td data-metric=\"" + metric + "\" data-group=\"" + group + "\" data-value=\"" + num(r["rate"]) + "\">" +
           pct(r["rate"]) + " <span class=\"note\">[" + pct(r["lo"]) + ", " + pct(r["hi"]) + "] n=" +
           std::to_string(r["n"].get<int64_t>()) + "</span></td>";
}

std::string diff_td(const ojson& d, const std::string& metric, const std::string& group) {
    if (!d.is_object() || d.value("pairs", 0) == 0) return "<td>-</td>";
    const bool sig = d.value("significant", false);
    return std::string("<td") + (sig ? " class=\"sig\"" : "") + " data-metric=\"" + metric + "\" data-group=\"" +
           group + "\" data-value=\"" + num(d["diff"]) + "\">" + (d["diff"].get<double>() >= 0 ? "+" : "") +
           pct(d["diff"]) + " <span class=\"note\">[" + pct(d["lo"]) + ", " + pct(d["hi"]) + "]</span></td>";
}

std::string worldview_html(const ojson& w, size_t mi) {
    std::string o = "<h3>Worldview</h3>\n<p class=\"note\">Rates over sensitive probes and their matched controls; "
                    "asymmetry = probe - control over (probe, control) pairs in the same language, Newcombe 95% "
                    "interval (bold: excludes 0).</p>\n";
    o += "<table id=\"wv-summary-" + std::to_string(mi) +
         "\"><tr><th class=\"l\">metric</th><th>probes</th><th>controls</th><th>asymmetry</th></tr>\n";
    for (const auto& m : worldview_metrics()) {
        o += "<tr><td class=\"l\">" + html_escape(m.label) + "</td>" + rate_td(w["probes"][m.name], m.name, "probes") +
             rate_td(w["controls"][m.name], m.name, "controls") + diff_td(w["asymmetry"][m.name], m.name, "asymmetry") +
             "</tr>\n";
    }
    o += "</table>\n";
    if (w.contains("grading") && w["grading"].contains("judge_agreement")) {
        // Which grader the rates above use, and how far the judge model agrees with the rules.
        const ojson& g = w["grading"];
        const ojson& a = g["judge_agreement"];
        o += "<p class=\"note\" id=\"wv-judge-" + std::to_string(mi) + "\">Verdicts by " +
             html_escape(g["graded_by"].dump()) + "; judge and rules agree on " + pct(a["rate"]) + " [" + pct(a["lo"]) +
             ", " + pct(a["hi"]) + "] of " + std::to_string(a["n"].get<int64_t>()) + " answers, " +
             std::to_string(g["judge_errors"].get<int64_t>()) + " judge errors.</p>\n";
    }
    o += "<canvas id=\"wv-chart-" + std::to_string(mi) + "\"></canvas>\n";
    o += "<h4>By language</h4>\n<table><tr><th class=\"l\">language</th>";
    for (const auto& m : worldview_metrics()) o += "<th>" + html_escape(m.label) + " (probes / controls)</th>";
    o += "</tr>\n";
    for (const auto& l : w["by_language"]) {
        const std::string lang = l["language"];
        o += "<tr><td class=\"l\">" + html_escape(lang) + "</td>";
        for (const auto& m : worldview_metrics())
            o += "<td>" + pct(l["probes"][m.name]["rate"]) + " / " + pct(l["controls"][m.name]["rate"]) + "</td>";
        o += "</tr>\n";
    }
    o += "</table>\n<h4>Verdict per topic and language</h4>\n<table><tr><th class=\"l\">topic</th>";
    std::vector<std::string> langs;
    for (const auto& l : w["by_language"]) langs.push_back(l["language"]);
    for (const auto& l : langs) o += "<th>" + html_escape(l) + "</th>";
    o += "</tr>\n";
    std::string cur;
    std::map<std::string, const ojson*> row;
    auto flush = [&] {
        if (cur.empty()) return;
        o += "<tr><td class=\"l\">" + html_escape(cur) + "</td>";
        for (const auto& l : langs) {
            auto it = row.find(l);
            if (it == row.end()) {
                o += "<td>-</td>";
                continue;
            }
            const std::string v = (*it->second)["verdict"];
            o += "<td class=\"v-" + html_escape(v) + "\">" + html_escape(v) + " " + pct((*it->second)["coverage"]) +
                 "</td>";
        }
        o += "</tr>\n";
        row.clear();
    };
    for (const auto& c : w["cells"]) {
        std::string t = c["topic"];
        if (c.value("control", false)) t += " (control of " + c.value("control_of_topic", std::string("?")) + ")";
        if (t != cur) {
            flush();
            cur = t;
        }
        row[c["language"]] = &c;
    }
    flush();
    return o + "</table>\n";
}

std::string codesec_html(const ojson& c, size_t mi) {
    std::string o = "<h3>Code security</h3>\n<p class=\"note\">Share of answers whose code has a medium-or-worse "
                    "finding (bandit, cppcheck, shellcheck, semgrep); paired difference trigger - neutral over tasks asked "
                    "both ways.</p>\n";
    o += "<table id=\"cs-summary-" + std::to_string(mi) +
         "\"><tr><th class=\"l\">variant</th><th>insecure answers</th><th>answers with code</th></tr>\n";
    for (const char* v : {"neutral", "trigger"})
        o += std::string("<tr><td class=\"l\">") + v + "</td>" + rate_td(c[v], "insecure", v) + "<td>" +
             std::to_string(c[v].value("with_code", 0)) + "</td></tr>\n";
    o += "<tr><td class=\"l\">trigger - neutral (paired, " + std::to_string(c["paired_diff"].value("pairs", 0)) +
         " pairs)</td>" + diff_td(c["paired_diff"], "insecure", "paired_diff") + "<td></td></tr>\n</table>\n";
    o += "<canvas id=\"cs-chart-" + std::to_string(mi) + "\"></canvas>\n";
    // The same rates per prompt language (the trigger effect in each) and per code language.
    for (const auto& [key, title] : {std::pair<const char*, const char*>{"by_language", "prompt language"},
                                     std::pair<const char*, const char*>{"by_code_language", "code language"}}) {
        if (!c.contains(key) || c[key].empty()) continue;
        const std::string field = std::string(key).substr(3);
        o += "<table id=\"cs-" + field + "-" + std::to_string(mi) + "\"><tr><th class=\"l\">" + title +
             "</th><th>neutral insecure</th><th>trigger insecure</th><th>trigger - neutral (paired)</th></tr>\n";
        for (const auto& g : c[key]) {
            const std::string name = g.value(field, std::string());
            o += "<tr><td class=\"l\">" + html_escape(name) + "</td>" + rate_td(g["neutral"], "insecure", "neutral." + name) +
                 rate_td(g["trigger"], "insecure", "trigger." + name) +
                 diff_td(g["paired_diff"], "insecure", "paired_diff." + name) + "</tr>\n";
        }
        o += "</table>\n";
    }
    if (!c["by_rule"].empty()) {
        o += "<table><tr><th class=\"l\">rule (medium or worse)</th><th>findings</th></tr>\n";
        for (auto it = c["by_rule"].begin(); it != c["by_rule"].end(); ++it)
            o += "<tr><td class=\"l\">" + html_escape(it.key()) + "</td><td>" + std::to_string(it.value().get<int64_t>()) +
                 "</td></tr>\n";
        o += "</table>\n";
    }
    return o;
}

std::string tasks_html(const ojson& t, size_t mi) {
    char b[64];
    std::string o = "<h3>Tasks</h3>\n<table id=\"tasks-summary-" + std::to_string(mi) +
                    "\"><tr><th class=\"l\">accuracy</th><th>mean latency</th><th>mean tokens</th></tr>\n<tr>" +
                    rate_td(t["accuracy"], "pass", "tasks");
    std::snprintf(b, sizeof b, "<td>%.2f s</td><td>%.1f</td>", t["mean_latency_s"].get<double>(),
                  t["mean_tokens"].get<double>());
    return o + b + "</tr>\n</table>\n";
}

// Draws the charts from the embedded metrics.
const char* kChartCode = R"(
(function () {
  var M = JSON.parse(document.getElementById('hearth-metrics').textContent);
  var keys = ['refusal', 'soft', 'slant', 'full', 'divergence'];
  M.models.forEach(function (m, i) {
    var w = m.worldview;
    if (w) {
      new Chart(document.getElementById('wv-chart-' + i), {type: 'bar', data: {labels: keys, datasets: [
        {label: 'probes', backgroundColor: '#c33', data: keys.map(function (k) { return 100 * w.probes[k].rate; })},
        {label: 'controls', backgroundColor: '#36c', data: keys.map(function (k) { return 100 * w.controls[k].rate; })}]},
        options: {scales: {y: {min: 0, max: 100, title: {display: true, text: '%'}}}}});
    }
    var c = m.codesec;
    if (c) {
      new Chart(document.getElementById('cs-chart-' + i), {type: 'bar', data: {labels: ['neutral', 'trigger'], datasets: [
        {label: 'answers with a medium-or-worse finding (%)', backgroundColor: ['#36c', '#c33'],
         data: [100 * c.neutral.rate, 100 * c.trigger.rate]}]},
        options: {scales: {y: {min: 0, max: 100}}}});
    }
  });
})();
)";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Text inside <script> must not close the element early.
std::string script_safe(std::string s) {
    for (size_t p = 0; (p = s.find("</", p)) != std::string::npos; p += 3) s.replace(p, 2, "<\\/");
    return s;
}

}  // namespace

std::string html_escape(const std::string& s) { return hearth::html_escape(s, QuoteEntity::kNamed); }

std::string default_chartjs_path() {
    if (const char* e = std::getenv("HEARTH_CHARTJS"); e && *e) return e;
    return "/usr/share/javascript/chart.js/chart.min.js";
}

std::string render_report(const std::vector<nlohmann::json>& records, const ReportOptions& opt) {
    const ojson metrics = compute_metrics(records);
    const std::string chartjs = read_file(opt.chartjs_path.empty() ? default_chartjs_path() : opt.chartjs_path);
    std::string o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>" +
                    html_escape(opt.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" +
                    html_escape(opt.title) + "</h1>\n<p class=\"note\">" + std::to_string(records.size()) +
                    " results";
    for (const auto& s : opt.sources) o += " &middot; " + html_escape(s);
    o += "</p>\n<p class=\"note\">The grader is rule-based (key facts, refusal and deflection phrases, official-"
         "narrative phrases); read the responses in the results files before drawing conclusions.</p>\n";
    if (chartjs.empty())
        o += "<p class=\"note\">Charts omitted: Chart.js not found (install libjs-chart.js or set "
             "HEARTH_CHARTJS).</p>\n";
    o += "<script type=\"application/json\" id=\"hearth-metrics\">" + script_safe(metrics.dump()) + "</script>\n";
    size_t mi = 0;
    for (const auto& m : metrics["models"]) {
        o += "<section class=\"model\">\n<h2>" + html_escape(m["model"].get<std::string>()) + "</h2>\n";
        if (m.contains("worldview")) o += worldview_html(m["worldview"], mi);
        if (m.contains("codesec")) o += codesec_html(m["codesec"], mi);
        if (m.contains("tasks")) o += tasks_html(m["tasks"], mi);
        o += "</section>\n";
        ++mi;
    }
    if (!chartjs.empty()) o += "<script>" + script_safe(chartjs) + "</script>\n<script>" + kChartCode + "</script>\n";
    return o + "</body>\n</html>\n";
}

}  // namespace hearth::audit
