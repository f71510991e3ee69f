#include "audit/shadow_diff.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "core/error.h"

namespace hearth::audit {
namespace {

using json = nlohmann::json;

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

double num(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

// The 0/1 outcomes of one answer.
struct Graded {
    bool refusal = false, deflection = false;
};

Graded grade_answer(const Grader& g, const json& side) {
    const std::string content = str(side, "content");
    const bool tools = side.contains("tool_calls") && side["tool_calls"].is_array() && !side["tool_calls"].empty();
    Graded out;
    if (tools) return out;  // calling a tool is answering
    out.refusal = content.find_first_not_of(" \t\r\n") == std::string::npos || !g.find_refusal(content).empty();
    out.deflection = !out.refusal && !g.find_deflection(content).empty();
    return out;
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

// The last user message of a chat (or the completion prompt), for the discordant list.
std::string prompt_text(const json& request) {
    if (request.contains("messages") && request["messages"].is_array()) {
        const auto& ms = request["messages"];
        for (auto it = ms.rbegin(); it != ms.rend(); ++it)
            if (it->is_object() && str(*it, "role") == "user") return str(*it, "content");
        return "";
    }
    if (request.contains("prompt") && request["prompt"].is_string()) return request["prompt"].get<std::string>();
    return "";
}

// At most n bytes, cut at a UTF-8 character boundary, newlines as spaces.
std::string snippet(const std::string& s, size_t n) {
    std::string out = s.size() <= n ? s : s.substr(0, n);
    if (s.size() > n) {
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
        if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
        out += "...";
    }
    for (char& c : out)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return out;
}

struct PairOutcome {
    const json* record;
    Graded p, c;
};

}  // namespace

std::string normalise_answer(const std::string& s) {
    std::string out;
    bool space = false;
    for (char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    for (bool cut = true; cut;) {
        cut = false;
        for (const std::string end : {".", "!", "?", "\u3002", "\uFF01", "\uFF1F"})
            if (out.size() >= end.size() && out.compare(out.size() - end.size(), end.size(), end) == 0) {
                out.resize(out.size() - end.size());
                while (!out.empty() && out.back() == ' ') out.pop_back();
                cut = true;
            }
    }
    return out;
}

std::vector<json> read_shadow_pairs(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::vector<json> out;
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto j = json::parse(line, nullptr, false);
        const std::string where = path + ":" + std::to_string(n) + ": ";
        if (j.is_discarded() || !j.is_object()) {
            // The last line a crash cut short (the server drops it on its next start).
            if (in.eof()) break;
            throw Error(where + "not a JSON object");
        }
        if (str(j, "type") != "shadow_pair" || !j.contains("primary") || !j["primary"].is_object() ||
            !j.contains("candidate") || !j["candidate"].is_object())
            throw Error(where + "not a shadow pair (needs \"type\": \"shadow_pair\", \"primary\" and \"candidate\")");
        out.push_back(std::move(j));
    }
    return out;
}

bool is_shadow_pairs_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto j = json::parse(line, nullptr, false);
        return j.is_object() && str(j, "type") == "shadow_pair";
    }
    return false;
}

ShadowDiff diff_shadow_pairs(const std::vector<json>& pairs, const Grader& grader, double alpha, size_t top) {
    ShadowDiff d;
    d.records = static_cast<int64_t>(pairs.size());
    d.alpha = alpha;
    int64_t hashes_only = 0;
    // Grouped by both models' names and file hashes: a pairs file can span a model update.
    std::map<std::string, std::vector<const json*>> groups;
    std::vector<std::string> order;
    for (const auto& r : pairs) {
        if (!r.value("gradable", true)) {
            ++hashes_only;
            continue;
        }
        const auto &p = r["primary"], &c = r["candidate"];
        const std::string key = str(p, "model") + "\n" + str(p, "sha256") + "\n" + str(c, "model") + "\n" + str(c, "sha256");
        auto [it, fresh] = groups.try_emplace(key);
        if (fresh) order.push_back(key);
        it->second.push_back(&r);
    }
    if (groups.empty())
        throw Error(hashes_only > 0 ? "the pairs were recorded with content = \"hashes\": they hold no text and cannot be "
                                      "graded (set [shadow] content = \"full\")"
                                    : "no shadow pairs to compare");
    for (const auto& key : order) {
        const auto& recs = groups[key];
        ShadowGroup g;
        const json& first = *recs.front();
        g.primary.model = str(first["primary"], "model");
        g.primary.sha256 = str(first["primary"], "sha256");
        g.candidate.model = str(first["candidate"], "model");
        g.candidate.sha256 = str(first["candidate"], "sha256");
        std::vector<PairOutcome> graded;
        std::vector<double> lat_p, lat_c;
        double tok_p = 0, tok_c = 0;
        for (const json* r : recs) {
            const auto &p = (*r)["primary"], &c = (*r)["candidate"];
            if (c.contains("error") && c["error"].is_string()) {
                ++g.candidate_failed;
                continue;
            }
            graded.push_back({r, grade_answer(grader, p), grade_answer(grader, c)});
            const std::string pc = str(p, "content"), cc = str(c, "content");
            const json pt = p.value("tool_calls", json()), ct = c.value("tool_calls", json());
            if (pc == cc && pt == ct) ++g.agree_exact;
            if (normalise_answer(pc) == normalise_answer(cc) && pt == ct) ++g.agree_normalised;
            lat_p.push_back(num(p, "latency_ms"));
            lat_c.push_back(num(c, "latency_ms"));
            tok_p += num(p, "completion_tokens");
            tok_c += num(c, "completion_tokens");
        }
        g.pairs = static_cast<int64_t>(graded.size());
        if (g.pairs > 0) {
            std::sort(lat_p.begin(), lat_p.end());
            std::sort(lat_c.begin(), lat_c.end());
            const double n = static_cast<double>(g.pairs);
            g.primary.mean_tokens = tok_p / n;
            g.candidate.mean_tokens = tok_c / n;
            g.primary.latency_p50_ms = percentile(lat_p, 0.5);
            g.primary.latency_p95_ms = percentile(lat_p, 0.95);
            g.candidate.latency_p50_ms = percentile(lat_c, 0.5);
            g.candidate.latency_p95_ms = percentile(lat_c, 0.95);
        }
        for (const char* metric : {"refusal", "deflection"}) {
            const bool refusal = std::string(metric) == "refusal";
            int64_t both = 0, p_only = 0, c_only = 0, neither = 0;
            for (const auto& o : graded) {
                const bool x = refusal ? o.p.refusal : o.p.deflection, y = refusal ? o.c.refusal : o.c.deflection;
                (x && y ? both : x ? p_only : y ? c_only : neither)++;
            }
            (refusal ? g.primary.refusals : g.primary.deflections) = both + p_only;
            (refusal ? g.candidate.refusals : g.candidate.deflections) = both + c_only;
            ShadowRateRow row;
            row.metric = metric;
            row.primary_only = p_only;
            row.candidate_only = c_only;
            if (g.pairs > 0) {
                row.primary = static_cast<double>(both + p_only) / static_cast<double>(g.pairs);
                row.candidate = static_cast<double>(both + c_only) / static_cast<double>(g.pairs);
                row.diff = newcombe_paired(both, c_only, p_only, neither);  // candidate - primary
            }
            row.p = mcnemar_exact_p(p_only, c_only);
            row.significant = row.p < alpha;
            row.regression = row.significant && c_only > p_only;
            g.rates.push_back(row);
        }
        for (const auto& o : graded) {
            const bool p_answered = !o.p.refusal && !o.p.deflection;
            if (!p_answered || (!o.c.refusal && !o.c.deflection)) continue;
            ++g.discordant_total;
            if (g.discordant.size() >= top) continue;
            const json& r = *o.record;
            g.discordant.push_back({str(r, "request_id"), str(r, "time"), o.c.refusal ? "refusal" : "deflection",
                                    prompt_text(r.value("request", json::object())), str(r["primary"], "content"),
                                    str(r["candidate"], "content")});
        }
        d.groups.push_back(std::move(g));
    }
    return d;
}

std::string shadow_diff_text(const ShadowDiff& d) {
    std::string o;
    char buf[768];
    for (const auto& g : d.groups) {
        std::snprintf(buf, sizeof buf, "shadow pairs: primary %s (%.12s) vs candidate %s (%.12s)\n",
                      g.primary.model.c_str(), g.primary.sha256.empty() ? "-" : g.primary.sha256.c_str(),
                      g.candidate.model.c_str(), g.candidate.sha256.empty() ? "-" : g.candidate.sha256.c_str());
        o += buf;
        std::snprintf(buf, sizeof buf, "%lld pairs graded, %lld with a failed candidate (not graded)\n",
                      static_cast<long long>(g.pairs), static_cast<long long>(g.candidate_failed));
        o += buf;
        if (g.pairs == 0) continue;
        std::snprintf(buf, sizeof buf, "%-11s %9s %9s %9s  %-19s %8s %5s %5s  %s\n", "metric", "primary", "candidate",
                      "change", "95% CI", "McNemar", "b", "c", "");
        o += buf;
        for (const auto& r : g.rates) {
            std::snprintf(buf, sizeof buf, "%-11s %8.1f%% %8.1f%% %+8.1f%%  [%+6.1f%%, %+6.1f%%] %8.3g %5lld %5lld  %s\n",
                          r.metric.c_str(), 100 * r.primary, 100 * r.candidate, 100 * r.diff.estimate, 100 * r.diff.lo,
                          100 * r.diff.hi, r.p, static_cast<long long>(r.primary_only),
                          static_cast<long long>(r.candidate_only),
                          r.regression ? "REGRESSION" : r.significant ? "significant" : "");
            o += buf;
        }
        const double n = static_cast<double>(g.pairs);
        std::snprintf(buf, sizeof buf, "agreement   exact %.1f%% (%lld), normalised %.1f%% (%lld)\n",
                      100 * static_cast<double>(g.agree_exact) / n, static_cast<long long>(g.agree_exact),
                      100 * static_cast<double>(g.agree_normalised) / n, static_cast<long long>(g.agree_normalised));
        o += buf;
        std::snprintf(buf, sizeof buf, "%-11s %12s %14s %14s\n", "model", "mean tokens", "latency p50", "latency p95");
        o += buf;
        for (const auto* s : {&g.primary, &g.candidate}) {
            std::snprintf(buf, sizeof buf, "%-11s %12.1f %11.0f ms %11.0f ms\n", s == &g.primary ? "primary" : "candidate",
                          s->mean_tokens, s->latency_p50_ms, s->latency_p95_ms);
            o += buf;
        }
        if (g.discordant_total > 0) {
            std::snprintf(buf, sizeof buf, "primary answered, candidate refused or deflected: %lld pair%s%s\n",
                          static_cast<long long>(g.discordant_total), g.discordant_total == 1 ? "" : "s",
                          static_cast<int64_t>(g.discordant.size()) < g.discordant_total ? " (first ones)" : "");
            o += buf;
            for (const auto& x : g.discordant) {
                o += "  " + x.request_id + " " + x.time + " " + x.what + "\n";
                o += "    prompt:    " + snippet(x.prompt, 100) + "\n";
                o += "    primary:   " + snippet(x.primary, 100) + "\n";
                o += "    candidate: " + snippet(x.candidate, 100) + "\n";
            }
        }
        o += "\n";
    }
    o += "b: pairs only the primary had in the class, c: only the candidate; a regression is c > b with McNemar p < " +
         [&] {
             std::snprintf(buf, sizeof buf, "%g", d.alpha);
             return std::string(buf);
         }() +
         ". Graded: refusal and deflection only (live traffic has no key facts).\n";
    return o;
}

nlohmann::ordered_json shadow_diff_json(const ShadowDiff& d) {
    using oj = nlohmann::ordered_json;
    oj out = {{"records", d.records}, {"alpha", d.alpha}, {"groups", oj::array()}};
    auto side = [](const ShadowSideStats& s) {
        return oj{{"model", s.model},           {"sha256", s.sha256},
                  {"refusals", s.refusals},     {"deflections", s.deflections},
                  {"mean_tokens", s.mean_tokens}, {"latency_p50_ms", s.latency_p50_ms},
                  {"latency_p95_ms", s.latency_p95_ms}};
    };
    for (const auto& g : d.groups) {
        oj rates = oj::array();
        for (const auto& r : g.rates)
            rates.push_back({{"metric", r.metric},
                             {"primary", r.primary},
                             {"candidate", r.candidate},
                             {"primary_only", r.primary_only},
                             {"candidate_only", r.candidate_only},
                             {"diff", r.diff.estimate},
                             {"ci95", {r.diff.lo, r.diff.hi}},
                             {"mcnemar_p", r.p},
                             {"significant", r.significant},
                             {"regression", r.regression}});
        oj disc = oj::array();
        for (const auto& x : g.discordant)
            disc.push_back({{"request_id", x.request_id}, {"time", x.time}, {"candidate_class", x.what},
                            {"prompt", x.prompt}, {"primary", x.primary}, {"candidate", x.candidate}});
        out["groups"].push_back({{"primary", side(g.primary)},
                                 {"candidate", side(g.candidate)},
                                 {"pairs", g.pairs},
                                 {"candidate_failed", g.candidate_failed},
                                 {"agree_exact", g.agree_exact},
                                 {"agree_normalised", g.agree_normalised},
                                 {"rates", rates},
                                 {"discordant_total", g.discordant_total},
                                 {"discordant", disc}});
    }
    out["regression"] = any_regression(d);
    return out;
}

bool any_regression(const ShadowDiff& d) {
    for (const auto& g : d.groups)
        for (const auto& r : g.rates)
            if (r.regression) return true;
    return false;
}

}  // namespace hearth::audit
