#include "audit/judge.h"

#include <algorithm>
#include <chrono>
#include <fstream>

#include "audit/grader_accuracy.h"
#include "audit/hash.h"
#include "audit/runner.h"
#include "client/openai_client.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace hearth::audit {
namespace {

const char* const kPromptMarker = "--- prompt ---";

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

// Narrative phrases are stored as regexes; the judge reads them, so the commonest regex
// syntax is turned back into words ("counter-?revolutionary (riot|rebellion)" ->
// "counter-revolutionary (riot/rebellion)").
std::string readable(std::string re) {
    std::string out;
    for (size_t i = 0; i < re.size(); ++i) {
        const char c = re[i];
        if (c == '\\' && i + 1 < re.size()) {
            const char n = re[++i];
            if (n == 'b') continue;
            if (n == 'w') {
                out += "...";
                if (i + 1 < re.size() && (re[i + 1] == '*' || re[i + 1] == '+')) ++i;
                continue;
            }
            out += n;
        } else if (c == '?' || c == '^' || c == '$') {
            // An optional character stays; the marker goes.
        } else if (c == '|') {
            out += '/';
        } else {
            out += c;
        }
    }
    return out;
}

class LocalJudge : public JudgeBackend {
public:
    LocalJudge(const std::string& path, int threads, int64_t n_ctx) : path_(path) {
        sha_ = sha256_file(path, false);
        model_ = model::Model::load(path);
        pool_ = std::make_unique<ThreadPool>(threads);
        engine::SessionOptions so;
        so.n_ctx = n_ctx;
        gen_ = std::make_unique<LocalGenerator>(*model_, *pool_, so, path);
        gen_->set_json_schema(judge_schema());
    }
    std::string complete(const std::string& prompt, int64_t max_tokens) override {
        Probe p;
        p.prompt = prompt;
        return gen_->generate(p, max_tokens).content;
    }
    std::string identity() const override { return "sha256:" + sha_; }
    std::string name() const override { return path_; }

private:
    std::string path_, sha_;
    std::unique_ptr<model::Model> model_;
    std::unique_ptr<ThreadPool> pool_;
    std::unique_ptr<LocalGenerator> gen_;
};

class EndpointJudge : public JudgeBackend {
public:
    EndpointJudge(const std::string& url, std::string model, std::string key)
        : client_(url, std::move(key)), model_(std::move(model)) {}
    std::string complete(const std::string& prompt, int64_t max_tokens) override {
        const nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", prompt}}});
        nlohmann::json extra = {{"temperature", 0}, {"seed", 0}};
        if (use_schema_) {
            extra["response_format"] = {
                {"type", "json_schema"},
                {"json_schema",
                 {{"name", "verdict"}, {"strict", true}, {"schema", nlohmann::json::parse(judge_schema().dump())}}}};
            try {
                return client_.chat(model_, messages, max_tokens, extra).content;
            } catch (const Error& e) {
                // Servers without structured output answer 400; the rubric still asks for JSON.
                if (std::string(e.what()).find("HTTP 400") == std::string::npos) throw;
                use_schema_ = false;
                extra.erase("response_format");
            }
        }
        return client_.chat(model_, messages, max_tokens, extra).content;
    }
    std::string identity() const override { return client_.base_url() + " model " + model_; }
    std::string name() const override { return model_; }

private:
    client::OpenAIClient client_;
    std::string model_;
    bool use_schema_ = true;
};

}  // namespace

Rubric load_rubric(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open the rubric");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Rubric r;
    r.path = path;
    r.sha256 = sha256_hex(text);
    const std::string first = text.substr(0, text.find('\n'));
    const std::string head = "# hearth worldview judge rubric ";
    if (first.rfind(head, 0) != 0 || first.size() == head.size())
        throw Error(path + ": the first line must be \"" + head + "vN\"");
    r.version = first.substr(head.size());
    while (!r.version.empty() && (r.version.back() == '\r' || r.version.back() == ' ')) r.version.pop_back();
    const size_t m = text.find(std::string("\n") + kPromptMarker);
    if (m == std::string::npos) throw Error(path + ": no \"" + kPromptMarker + "\" line");
    const size_t start = text.find('\n', m + 1);
    r.prompt_template = start == std::string::npos ? "" : text.substr(start + 1);
    for (const char* ph : {"{{question}}", "{{key_facts}}", "{{answer}}"})
        if (r.prompt_template.find(ph) == std::string::npos)
            throw Error(path + ": the prompt has no " + std::string(ph) + " placeholder");
    return r;
}

std::string judge_prompt(const Rubric& rubric, const Probe& probe, const std::string& answer) {
    std::string facts, narrative;
    for (const auto& f : probe.key_facts) facts += "- " + f.fact + "\n";
    if (facts.empty()) facts = "(none)\n";
    facts.pop_back();
    for (const std::string& lang : {probe.language, std::string("en")}) {
        auto it = probe.narrative.find(lang);
        if (it == probe.narrative.end()) continue;
        for (const auto& p : it->second) narrative += "- " + readable(p) + "\n";
        if (lang == "en") break;
    }
    if (narrative.empty()) narrative = "(none)\n";
    narrative.pop_back();
    std::string out = rubric.prompt_template;
    // The answer goes in last so text inside it that looks like a placeholder stays as written.
    replace_all(out, "{{question}}", probe.prompt);
    replace_all(out, "{{key_facts}}", facts);
    replace_all(out, "{{narrative}}", narrative);
    replace_all(out, "{{answer}}", answer);
    return out;
}

const nlohmann::ordered_json& judge_schema() {
    static const nlohmann::ordered_json s = [] {
        nlohmann::ordered_json classes = nlohmann::ordered_json::array();
        for (const auto& c : worldview_classes()) classes.push_back(c);
        return nlohmann::ordered_json{
            {"type", "object"},
            {"properties", {{"facts_stated", {{"type", "integer"}}}, {"verdict", {{"type", "string"}, {"enum", classes}}}}},
            {"required", {"facts_stated", "verdict"}},
            {"additionalProperties", false}};
    }();
    return s;
}

JudgeVerdict parse_judge_reply(const std::string& text) {
    JudgeVerdict v;
    v.raw = text;
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) {
        const size_t a = text.find('{'), b = text.rfind('}');
        if (a != std::string::npos && b != std::string::npos && b > a)
            j = nlohmann::json::parse(text.substr(a, b - a + 1), nullptr, false);
    }
    if (j.is_discarded() || !j.is_object()) {
        v.error = "judge_error: the reply is not a JSON object";
        return v;
    }
    if (!j.contains("verdict") || !j["verdict"].is_string()) {
        v.error = "judge_error: the reply has no \"verdict\" string";
        return v;
    }
    const std::string verdict = j["verdict"].get<std::string>();
    const auto& classes = worldview_classes();
    if (std::find(classes.begin(), classes.end(), verdict) == classes.end()) {
        v.error = "judge_error: \"" + verdict + "\" is not a worldview class";
        return v;
    }
    if (j.contains("facts_stated") && j["facts_stated"].is_number_integer() && j["facts_stated"].get<int64_t>() >= 0)
        v.facts_stated = static_cast<int>(std::min<int64_t>(j["facts_stated"].get<int64_t>(), 1 << 20));
    v.verdict = verdict;
    return v;
}

std::unique_ptr<JudgeBackend> make_local_judge(const std::string& model_path, int threads, int64_t n_ctx) {
    return std::make_unique<LocalJudge>(model_path, threads, n_ctx);
}

std::unique_ptr<JudgeBackend> make_endpoint_judge(const std::string& base_url, const std::string& model,
                                                  const std::string& api_key) {
    return std::make_unique<EndpointJudge>(base_url, model, api_key);
}

Judge::Judge(std::unique_ptr<JudgeBackend> backend, Rubric rubric, std::string cache_path, int64_t max_tokens)
    : backend_(std::move(backend)), rubric_(std::move(rubric)), cache_path_(std::move(cache_path)),
      max_tokens_(max_tokens) {
    if (cache_path_.empty()) return;
    std::ifstream in(cache_path_, std::ios::binary);
    std::string line;
    int n = 0;
    while (in && std::getline(in, line)) {
        ++n;
        auto j = nlohmann::json::parse(line, nullptr, false);
        // A line cut off by an interrupted run is skipped; its verdict is asked for again.
        if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j["key"].is_string()) continue;
        JudgeVerdict v = parse_judge_reply(j.value("raw", std::string()));
        v.cached = true;
        cache_[j["key"].get<std::string>()] = v;
    }
}

Judge::~Judge() = default;

JudgeVerdict Judge::judge(const Probe& probe, const std::string& answer) {
    const std::string prompt = judge_prompt(rubric_, probe, answer);
    const std::string key = sha256_hex(backend_->identity() + "\n" + rubric_.sha256 + "\n" +
                                       std::to_string(max_tokens_) + "\n" + prompt);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    const auto t0 = std::chrono::steady_clock::now();
    JudgeVerdict v;
    try {
        v = parse_judge_reply(backend_->complete(prompt, max_tokens_));
    } catch (const Error& e) {
        v.error = std::string("judge_error: ") + e.what();
        v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return v;  // not cached: the next run tries again
    }
    v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cache_[key] = v;
    if (!cache_path_.empty()) {
        std::ofstream out(cache_path_, std::ios::binary | std::ios::app);
        if (!out) throw Error(cache_path_ + ": cannot write the judge cache");
        out << nlohmann::json{{"key", key}, {"raw", v.raw}}.dump() << "\n";
    }
    return v;
}

nlohmann::ordered_json Judge::config() const {
    return {{"judge", backend_->name()},
            {"judge_identity", backend_->identity()},
            {"rubric", rubric_.version},
            {"rubric_sha256", rubric_.sha256},
            {"judge_max_tokens", max_tokens_}};
}

}  // namespace hearth::audit
