#include "audit/codescan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/semgrep_rules.h"
#include "core/error.h"

namespace hearth::audit {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool executable(const std::string& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

// The first executable `name` on PATH ("" when none).
std::string on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    if (!path) return "";
    std::istringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
        if (!dir.empty() && executable(dir + "/" + name)) return dir + "/" + name;
    return "";
}

std::string find_tool(const char* env, const std::string& name, const std::string& extra = "") {
    if (const char* e = std::getenv(env); e && *e) return executable(e) ? e : "";
    if (executable(extra)) return extra;
    return on_path(name);
}

std::string quote(const std::string& s) {
    std::string o = "'";
    for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return o + "'";
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A private scratch folder, removed when the scan ends.
struct ScratchDir {
    fs::path path;
    ScratchDir() {
        std::string t = (fs::temp_directory_path() / "hearth-scan-XXXXXX").string();
        if (!::mkdtemp(t.data())) throw Error("code scan: cannot create a temporary folder");
        path = t;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

int run(const std::string& cmd) {
    int rc = std::system(cmd.c_str());
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

std::string xml_attr(const std::string& elem, const std::string& name) {
    const std::string key = " " + name + "=\"";
    size_t a = elem.find(key);
    if (a == std::string::npos) return "";
    a += key.size();
    size_t b = elem.find('"', a);
    std::string v = elem.substr(a, b == std::string::npos ? std::string::npos : b - a), out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] != '&') {
            out += v[i];
            continue;
        }
        static const std::pair<const char*, char> ents[] = {
            {"&quot;", '"'}, {"&apos;", '\''}, {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}};
        bool done = false;
        for (const auto& [e, c] : ents)
            if (v.compare(i, std::string(e).size(), e) == 0) {
                out += c;
                i += std::string(e).size() - 1;
                done = true;
                break;
            }
        if (!done) out += '&';
    }
    return out;
}

std::vector<Finding> parse_bandit(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("results"))
        throw Error("bandit: unreadable report: " + text.substr(0, 200));
    std::vector<Finding> out;
    for (const auto& r : j["results"])
        out.push_back({"bandit", r.value("test_id", ""), lower(r.value("issue_severity", "")),
                       r.value("issue_text", ""), r.value("line_number", 0)});
    return out;
}

std::vector<Finding> parse_cppcheck(const std::string& xml) {
    if (xml.find("<results") == std::string::npos) throw Error("cppcheck: unreadable report: " + xml.substr(0, 200));
    std::vector<Finding> out;
    size_t pos = 0;
    while ((pos = xml.find("<error ", pos)) != std::string::npos) {
        size_t end = xml.find("</error>", pos), close = xml.find('>', pos);
        const std::string head = xml.substr(pos, close - pos);
        const std::string body = xml.substr(pos, (end == std::string::npos ? close : end) - pos);
        pos = close;
        const std::string id = xml_attr(head, "id"), sev = xml_attr(head, "severity");
        // Set-up notes, not findings about the code.
        if (id == "missingIncludeSystem" || id == "missingInclude" || id == "checkersReport" ||
            id == "unmatchedSuppression" || id == "toomanyconfigs" || sev == "information")
            continue;
        std::string level = sev == "error" ? "high" : sev == "warning" ? "medium" : "low";
        int line = 0;
        if (size_t loc = body.find("<location "); loc != std::string::npos)
            line = std::atoi(xml_attr(body.substr(loc, body.find('>', loc) - loc), "line").c_str());
        out.push_back({"cppcheck", id, level, xml_attr(head, "msg"), line});
    }
    return out;
}

std::vector<Finding> parse_shellcheck(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) throw Error("shellcheck: unreadable report: " + text.substr(0, 200));
    std::vector<Finding> out;
    for (const auto& r : j) {
        const std::string lvl = r.value("level", "");
        out.push_back({"shellcheck", "SC" + std::to_string(r.value("code", 0)),
                       lvl == "error" ? "high" : lvl == "warning" ? "medium" : "low", r.value("message", ""),
                       r.value("line", 0)});
    }
    return out;
}

// semgrep's own levels, and the HIGH/MEDIUM/LOW of its newer rule format.
std::string semgrep_severity(const std::string& s) {
    const std::string u = lower(s);
    if (u == "error" || u == "critical" || u == "high") return "high";
    if (u == "warning" || u == "medium") return "medium";
    return "low";
}

// Findings keyed by the snippet file they are in ("snippet-3.js" -> block 3 of `n`).
std::vector<std::vector<Finding>> parse_semgrep(const std::string& text, size_t n) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("results") || !j["results"].is_array())
        throw Error("semgrep: unreadable report: " + text.substr(0, 200));
    std::vector<std::vector<Finding>> out(n);
    for (const auto& r : j["results"]) {
        const std::string file = fs::path(r.value("path", "")).filename().string();
        if (file.rfind("snippet-", 0) != 0) continue;
        const size_t i = std::strtoul(file.c_str() + 8, nullptr, 10);
        if (i >= n) continue;
        // check_id carries the rules file's path as a dotted prefix; hearth's ids have no dots.
        std::string id = r.value("check_id", "");
        if (size_t dot = id.rfind('.'); dot != std::string::npos) id = id.substr(dot + 1);
        const auto& extra = r.contains("extra") && r["extra"].is_object() ? r["extra"] : nlohmann::json::object();
        const int line = r.contains("start") && r["start"].is_object() ? r["start"].value("line", 0) : 0;
        out[i].push_back({"semgrep", id, semgrep_severity(extra.value("severity", "")), extra.value("message", ""), line});
    }
    return out;
}

std::string venv_tool(const std::string& name) {
    const char* cache = std::getenv("HEARTH_CACHE");
    const char* home = std::getenv("HOME");
    if (cache && *cache) return std::string(cache) + "/venv-audit/bin/" + name;
    if (home) return std::string(home) + "/.cache/hearth/venv-audit/bin/" + name;
    return "";
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream o(p, std::ios::binary);
    o << text;
    if (!o) throw Error("code scan: cannot write " + p.string());
}

}  // namespace

std::string normalize_code_language(const std::string& tag) {
    const std::string t = lower(tag);
    if (t == "py" || t == "python" || t == "python3" || t == "py3") return "python";
    if (t == "c" || t == "h") return "c";
    if (t == "cpp" || t == "c++" || t == "cc" || t == "cxx" || t == "hpp") return "cpp";
    if (t == "js" || t == "javascript" || t == "node" || t == "nodejs" || t == "jsx" || t == "mjs") return "javascript";
    if (t == "sh" || t == "bash" || t == "shell" || t == "zsh" || t == "console") return "shell";
    if (t == "sql" || t == "sqlite" || t == "postgresql" || t == "mysql" || t == "psql") return "sql";
    return t;
}

namespace {

std::vector<CodeBlock> extract_blocks(const std::string& text, const std::string& default_language, int depth) {
    std::vector<CodeBlock> out;
    std::istringstream in(text);
    std::string line, fence, body, lang;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t i = line.find_first_not_of(" \t");
        const std::string t = i == std::string::npos ? "" : line.substr(i);
        if (!inside) {
            if (t.rfind("```", 0) == 0 || t.rfind("~~~", 0) == 0) {
                fence = t.substr(0, 3);
                std::string info = t.substr(3);
                size_t a = info.find_first_not_of(" \t`~");
                info = a == std::string::npos ? "" : info.substr(a);
                size_t b = info.find_first_of(" \t{");
                lang = info.substr(0, b);
                inside = true;
                body.clear();
            }
        } else if (t.rfind(fence, 0) == 0 && t.find_first_not_of(fence[0]) == std::string::npos) {
            out.push_back({lang.empty() ? default_language : normalize_code_language(lang), body});
            inside = false;
        } else {
            body += line + "\n";
        }
    }
    if (inside && !body.empty()) out.push_back({lang.empty() ? default_language : normalize_code_language(lang), body});
    // Models asked for "a Markdown code block" often wrap the real one in ```markdown: the outer
    // fence then closes at the inner closing fence, leaving "```c ..." as its body. Take the
    // blocks inside such a wrapper instead of the wrapper (two levels at most: the answer is
    // untrusted text, and a pile of nested wrappers must not run the stack out).
    std::vector<CodeBlock> unwrapped;
    for (auto& b : out) {
        if ((b.language == "markdown" || b.language == "md") && depth < 2) {
            auto inner = extract_blocks(b.code, default_language, depth + 1);
            if (!inner.empty()) {
                for (auto& i : inner) unwrapped.push_back(std::move(i));
                continue;
            }
        }
        unwrapped.push_back(std::move(b));
    }
    return unwrapped;
}

}  // namespace

std::vector<CodeBlock> extract_code_blocks(const std::string& text, const std::string& default_language) {
    return extract_blocks(text, default_language, 0);
}

nlohmann::ordered_json finding_json(const Finding& f) {
    return {{"tool", f.tool}, {"rule", f.rule}, {"severity", f.severity}, {"line", f.line}, {"message", f.message}};
}

int severity_rank(const std::string& s) {
    if (s == "low") return 1;
    if (s == "medium") return 2;
    if (s == "high") return 3;
    return 0;
}

CodeScanner::CodeScanner() {
    bandit_ = find_tool("HEARTH_BANDIT", "bandit", venv_tool("bandit"));
    cppcheck_ = find_tool("HEARTH_CPPCHECK", "cppcheck");
    shellcheck_ = find_tool("HEARTH_SHELLCHECK", "shellcheck");
    semgrep_ = find_tool("HEARTH_SEMGREP", "semgrep", venv_tool("semgrep"));
}

std::string CodeScanner::tool_for(const std::string& language) const {
    if (language == "python") return bandit_.empty() ? "" : "bandit";
    if (language == "c" || language == "cpp") return cppcheck_.empty() ? "" : "cppcheck";
    if (language == "shell") return shellcheck_.empty() ? "" : "shellcheck";
    if (!semgrep_rules(language).empty()) return semgrep_.empty() ? "" : "semgrep";
    return "";
}

const std::string& CodeScanner::tool_path(const std::string& tool) const {
    static const std::string none;
    if (tool == "bandit") return bandit_;
    if (tool == "cppcheck") return cppcheck_;
    if (tool == "shellcheck") return shellcheck_;
    if (tool == "semgrep") return semgrep_;
    return none;
}

std::vector<Finding> CodeScanner::scan(const CodeBlock& block) const {
    const std::string tool = tool_for(block.language);
    if (tool.empty()) return {};
    if (tool == "semgrep") return scan_with_semgrep({&block}).front();
    ScratchDir dir;
    const char* ext = block.language == "python" ? "snippet.py"
                      : block.language == "c"    ? "snippet.c"
                      : block.language == "cpp"  ? "snippet.cpp"
                                                 : "snippet.sh";
    const fs::path src = dir.path / ext, report = dir.path / "report", log = dir.path / "log";
    write_file(src, block.code);
    std::string cmd;
    if (tool == "bandit") {
        cmd = quote(bandit_) + " -q -f json -o " + quote(report.string()) + " " + quote(src.string());
    } else if (tool == "cppcheck") {
        cmd = quote(cppcheck_) + " -q --enable=warning,portability --inconclusive --xml --xml-version=2 " +
              "--output-file=" + quote(report.string()) + " " + quote(src.string());
    } else {
        // -s bash: answers often omit the shebang.
        cmd = quote(shellcheck_) + " -s bash -f json " + quote(src.string()) + " > " + quote(report.string());
    }
    const int rc = run(cmd + " 2> " + quote(log.string()));
    // bandit and shellcheck exit 1 when they find something; anything else is a failure.
    if (rc != 0 && rc != 1)
        throw Error(tool + " failed (exit " + std::to_string(rc) + "): " + slurp(log).substr(0, 300));
    const std::string text = slurp(report);
    if (tool == "bandit") return parse_bandit(text);
    if (tool == "cppcheck") return parse_cppcheck(text);
    return parse_shellcheck(text);
}

std::vector<std::vector<Finding>> CodeScanner::scan_all(const std::vector<CodeBlock>& blocks) const {
    std::vector<std::vector<Finding>> out(blocks.size());
    std::vector<const CodeBlock*> for_semgrep;
    std::vector<size_t> where;
    for (size_t i = 0; i < blocks.size(); ++i) {
        if (tool_for(blocks[i].language) == "semgrep") {
            for_semgrep.push_back(&blocks[i]);
            where.push_back(i);
        } else {
            out[i] = scan(blocks[i]);
        }
    }
    if (!for_semgrep.empty()) {
        auto found = scan_with_semgrep(for_semgrep);
        for (size_t k = 0; k < where.size(); ++k) out[where[k]] = std::move(found[k]);
    }
    return out;
}

std::vector<std::vector<Finding>> CodeScanner::scan_with_semgrep(const std::vector<const CodeBlock*>& blocks) const {
    ScratchDir dir;
    std::string targets, rules;
    std::vector<std::string> languages;
    for (size_t i = 0; i < blocks.size(); ++i) {
        const std::string& lang = blocks[i]->language;
        const fs::path src = dir.path / ("snippet-" + std::to_string(i) + (lang == "sql" ? ".sql" : ".js"));
        write_file(src, blocks[i]->code);
        targets += ' ';  // appended in two steps: GCC 12 warns (-Wrestrict, falsely) on " " + std::string
        targets += quote(src.string());
        if (std::find(languages.begin(), languages.end(), lang) == languages.end()) {
            languages.push_back(lang);
            const fs::path r = dir.path / ("rules-" + lang + ".yml");
            write_file(r, semgrep_rules(lang));
            rules += " --config " + quote(r.string());
        }
    }
    const fs::path report = dir.path / "report", log = dir.path / "log", home = dir.path / "home";
    fs::create_directory(home);
    // Offline and self-contained: no login token, no metrics, no version check, and a HOME of
    // its own for the settings and log files semgrep writes.
    const std::string cmd = "env -u SEMGREP_APP_TOKEN HOME=" + quote(home.string()) +
                            " SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off " + quote(semgrep_) +
                            " scan --metrics=off --disable-version-check --no-git-ignore --json --quiet" + rules +
                            targets + " > " + quote(report.string()) + " 2> " + quote(log.string());
    const int rc = run(cmd);
    // 0 with or without findings; a snippet that does not parse is reported inside the JSON
    // (its findings so far still count). Other exits are failures of the run itself.
    if (rc != 0) throw Error("semgrep failed (exit " + std::to_string(rc) + "): " + slurp(log).substr(0, 300));
    return parse_semgrep(slurp(report), blocks.size());
}

}  // namespace hearth::audit
