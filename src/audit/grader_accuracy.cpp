#include "audit/grader_accuracy.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hearth::audit {
namespace {

std::string pct(double x) {
    char b[16];
    std::snprintf(b, sizeof b, "%.1f%%", 100.0 * x);
    return b;
}

std::string cell(const Agreement& a) {
    if (a.n == 0) return "-";
    char b[48];
    std::snprintf(b, sizeof b, "%5.1f%% (%d/%d)", 100.0 * a.rate(), a.agree, a.n);
    return b;
}

std::string field(const nlohmann::json& j, const char* key, const std::string& where, bool required) {
    if (!j.contains(key) || j[key].is_null()) {
        if (required) throw Error(where + ": missing \"" + key + "\"");
        return "";
    }
    if (!j[key].is_string()) throw Error(where + ": \"" + key + "\" must be a string");
    return j[key].get<std::string>();
}

}  // namespace

const std::vector<std::string>& worldview_classes() {
    static const std::vector<std::string> c = {"full_answer", "refusal", "deflection", "omission", "slant"};
    return c;
}

std::vector<LabelledResponse> load_labelled(const std::string& path, const std::vector<Probe>& suite) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::map<std::string, const Probe*> by_id;
    for (const auto& p : suite) by_id[p.id] = &p;
    const auto& classes = worldview_classes();
    std::vector<LabelledResponse> out;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        const std::string where = path + ":" + std::to_string(n);
        if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t")] == '#')
            continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw Error(where + ": not a JSON object");
        LabelledResponse r;
        r.id = field(j, "id", where, false);
        if (r.id.empty()) r.id = "line " + std::to_string(n);
        r.probe_id = field(j, "probe", where, true);
        r.label = field(j, "label", where, true);
        r.split = field(j, "split", where, false);
        r.kind = field(j, "case", where, false);
        r.response = field(j, "response", where, true);
        if (std::find(classes.begin(), classes.end(), r.label) == classes.end())
            throw Error(where + ": label \"" + r.label +
                        "\" is not a worldview class (full_answer, refusal, deflection, omission, slant)");
        auto it = by_id.find(r.probe_id);
        if (it == by_id.end()) throw Error(where + ": probe \"" + r.probe_id + "\" is not in the suite");
        if (it->second->key_facts.empty())
            throw Error(where + ": probe \"" + r.probe_id + "\" has no key facts (not an open worldview question)");
        r.probe = *it->second;
        out.push_back(std::move(r));
    }
    if (out.empty()) throw Error(path + ": no labelled responses");
    return out;
}

std::string accuracy_table(const std::string& grader_name, const std::vector<Scored>& rows, bool list_misses) {
    std::string o;
    char b[256];
    std::vector<std::string> splits, langs;
    for (const auto& s : rows) {
        if (std::find(splits.begin(), splits.end(), s.row->split) == splits.end()) splits.push_back(s.row->split);
        if (std::find(langs.begin(), langs.end(), s.row->probe.language) == langs.end())
            langs.push_back(s.row->probe.language);
    }
    std::sort(splits.begin(), splits.end());
    const Agreement all = agreement(rows, [](const LabelledResponse&) { return true; });
    std::snprintf(b, sizeof b, "grader: %s, %d labelled responses\n", grader_name.c_str(), all.n);
    o += b;
    o += "agreement with the labels: all " + cell(all);
    for (const auto& sp : splits) {
        if (sp.empty()) continue;
        o += "   " + sp + " " + cell(agreement(rows, [&](const LabelledResponse& r) { return r.split == sp; }));
    }
    o += "\n";
    if (all.no_verdict)
        o += "  " + std::to_string(all.no_verdict) + " responses got no verdict (counted as disagreement)\n";

    // Per class: recall is the class's agreement (of the responses labelled C, the share the
    // grader also calls C); precision says how far a verdict of C can be trusted.
    o += "\nper class            labelled  precision  recall     F1";
    for (const auto& sp : splits)
        if (!sp.empty()) o += "  | " + sp + ": n  recall";
    o += "\n";
    for (const auto& c : worldview_classes()) {
        auto it = all.by_class.find(c);
        const ClassScore cs = it == all.by_class.end() ? ClassScore{} : it->second;
        const double p = cs.precision(), r = cs.recall(), f = p + r > 0 ? 2 * p * r / (p + r) : 0;
        std::snprintf(b, sizeof b, "  %-17s %8d  %9s  %6s  %6s", c.c_str(), cs.labelled, pct(p).c_str(),
                      pct(r).c_str(), pct(f).c_str());
        o += b;
        for (const auto& sp : splits) {
            if (sp.empty()) continue;
            const Agreement a = agreement(rows, [&](const LabelledResponse& x) { return x.split == sp; });
            auto jt = a.by_class.find(c);
            const ClassScore s = jt == a.by_class.end() ? ClassScore{} : jt->second;
            std::snprintf(b, sizeof b, "  | %*s%4d  %6s", static_cast<int>(sp.size()) - 1, "", s.labelled,
                          s.labelled ? pct(s.recall()).c_str() : "-");
            o += b;
        }
        o += "\n";
    }

    o += "\nper language   agreement";
    for (const auto& sp : splits)
        if (!sp.empty()) o += "            " + sp;
    o += "\n";
    for (const auto& l : langs) {
        std::snprintf(b, sizeof b, "  %-6s  %-18s", l.c_str(),
                      cell(agreement(rows, [&](const LabelledResponse& r) { return r.probe.language == l; })).c_str());
        o += b;
        for (const auto& sp : splits) {
            if (sp.empty()) continue;
            std::snprintf(b, sizeof b, "  %-18s",
                          cell(agreement(rows, [&](const LabelledResponse& r) {
                              return r.probe.language == l && r.split == sp;
                          })).c_str());
            o += b;
        }
        o += "\n";
    }

    std::vector<std::string> cols = worldview_classes();
    if (all.no_verdict) cols.push_back("(none)");
    o += "\nconfusion (rows: label, columns: verdict)\n  " + std::string(12, ' ');
    for (const auto& c : cols) {
        std::snprintf(b, sizeof b, " %11s", c.c_str());
        o += b;
    }
    o += "\n";
    for (const auto& l : worldview_classes()) {
        std::snprintf(b, sizeof b, "  %-12s", l.c_str());
        o += b;
        for (const auto& c : cols) {
            int k = 0;
            if (auto it = all.confusion.find(l); it != all.confusion.end())
                if (auto jt = it->second.find(c); jt != it->second.end()) k = jt->second;
            std::snprintf(b, sizeof b, " %11d", k);
            o += b;
        }
        o += "\n";
    }
    if (list_misses) {
        o += "\ndisagreements\n";
        for (const auto& s : rows) {
            const std::string pred = s.predicted.empty() ? "(none)" : s.predicted;
            if (pred == s.row->label) continue;
            std::string text = s.row->response.substr(0, 110);
            while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
            if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
            for (char& ch : text)
                if (ch == '\n') ch = ' ';
            o += "  " + s.row->id + " " + s.row->probe_id + " [" + s.row->split + "] label " + s.row->label +
                 ", verdict " + pred + (s.detail.empty() ? "" : " (" + s.detail + ")") + ": " + text +
                 (s.row->response.size() > 110 ? "..." : "") + "\n";
        }
    }
    return o;
}

}  // namespace hearth::audit
