#include "audit/response_cache.h"

#include <filesystem>

#include "audit/hash.h"
#include "audit/jsonl_append.h"
#include "core/error.h"

namespace hearth::audit {

std::string response_cache_key(const std::string& model_identity, const std::string& request,
                               const std::string& sampling, int64_t max_tokens) {
    Sha256 h;
    for (const std::string& part : {model_identity, request, sampling, std::to_string(max_tokens)}) {
        h.update(std::to_string(part.size()) + ":");
        h.update(part);
    }
    return h.hex();
}

nlohmann::ordered_json generation_json(const Generation& g) {
    return {{"text", g.text},         {"reasoning", g.reasoning}, {"content", g.content},
            {"n_prompt", g.n_prompt}, {"n_tokens", g.n_tokens},   {"finish_reason", g.finish_reason},
            {"prefill_s", g.prefill_s}, {"decode_s", g.decode_s}};
}

Generation generation_from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string() || !j.contains("content") ||
        !j["content"].is_string())
        throw Error("not a cached generation (needs \"text\" and \"content\")");
    Generation g;
    g.text = j["text"].get<std::string>();
    g.reasoning = j.value("reasoning", "");
    g.content = j["content"].get<std::string>();
    g.n_prompt = j.value("n_prompt", int64_t{0});
    g.n_tokens = j.value("n_tokens", int64_t{0});
    g.finish_reason = j.value("finish_reason", "");
    g.prefill_s = j.value("prefill_s", 0.0);
    g.decode_s = j.value("decode_s", 0.0);
    return g;
}

ResponseCache::ResponseCache(const std::string& path) : file_(path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec) || (!path.empty() && path.back() == '/')) {
        fs::create_directories(path, ec);
        if (ec) throw Error(path + ": cannot create the cache directory: " + ec.message());
        file_ = (fs::path(path) / "responses.jsonl").string();
    }
    const JsonlContents c = read_jsonl_for_append(file_);
    size_t n = 0;
    for (const auto& j : c.records) {
        ++n;
        if (!j.contains("key") || !j["key"].is_string() || !j.contains("generation"))
            throw Error(file_ + ": record " + std::to_string(n) +
                        " is not a response-cache entry (needs \"key\" and \"generation\")");
        try {
            entries_[j["key"].get<std::string>()] = generation_from_json(j["generation"]);
        } catch (const Error& e) {
            throw Error(file_ + ": record " + std::to_string(n) + ": " + e.what());
        }
    }
    out_.open(file_, std::ios::binary | std::ios::app);
    if (!out_) throw Error(file_ + ": cannot write the response cache");
}

const Generation* ResponseCache::find(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        ++misses_;
        return nullptr;
    }
    ++hits_;
    return &it->second;
}

void ResponseCache::put(const std::string& key, const Generation& g) {
    if (!entries_.emplace(key, g).second) return;
    nlohmann::ordered_json j = {{"key", key}, {"generation", generation_json(g)}};
    out_ << j.dump() << "\n";
    out_.flush();
    if (!out_) throw Error(file_ + ": write failed");
}

}  // namespace hearth::audit
