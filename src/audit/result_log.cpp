#include "audit/result_log.h"

#include "audit/jsonl_append.h"
#include "core/error.h"

namespace hearth::audit {

ResultLog::ResultLog(const std::string& path, const std::string& config_hash, bool force) : path_(path) {
    JsonlContents c;
    try {
        c = read_jsonl_for_append(path);
    } catch (const Error& e) {
        if (!force) throw Error(std::string(e.what()) + " (not a results file to resume; --force overwrites it)");
    }
    bool fresh = force;
    if (!force) {
        size_t n = 0;
        for (const auto& j : c.records) {
            ++n;
            const std::string h = j.contains("config_hash") && j["config_hash"].is_string()
                                      ? j["config_hash"].get<std::string>()
                                      : std::string();
            if (h != config_hash)
                throw Error(path + ": record " + std::to_string(n) + " is from another run configuration (config hash " +
                            (h.empty() ? std::string("none") : h.substr(0, 12) + "...") + ", this run " +
                            config_hash.substr(0, 12) +
                            "...): its results are not comparable with this run's; write to another --out, or "
                            "--force to start this file afresh");
            if (j.contains("id") && j["id"].is_string()) ids_.insert(j["id"].get<std::string>());
        }
        previous_ = std::move(c.records);
        dropped_partial_tail_ = c.dropped_partial_tail;
    }
    out_.open(path, std::ios::binary | (fresh ? std::ios::trunc : std::ios::app));
    if (!out_) throw Error(path + ": cannot write");
}

void ResultLog::append(const nlohmann::ordered_json& record) {
    out_ << record.dump() << "\n";
    out_.flush();
    if (!out_) throw Error(path_ + ": write failed");
}

}  // namespace hearth::audit
