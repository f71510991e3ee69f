#pragma once
// The results file of `hearth audit run --out`, resumable. Every record carries the run's
// config hash (model, suite, grader, sampling, judge). Opening a file that already holds
// records of the same config hash resumes the run: those probes count as done and new
// records are appended. Records of another config hash mean another experiment: the file is
// refused (its results would not be comparable with the new ones), unless `force`, which
// starts the file afresh. Each record is flushed as it is written, so a crash loses at most
// the probes in flight, and a record it cut short is dropped on the next open.
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::audit {

class ResultLog {
public:
    // Throws hearth::Error when the file cannot be read or written, holds a line that is not a
    // JSON object (other than a partial last one), or holds results of another config hash
    // (without `force`).
    ResultLog(const std::string& path, const std::string& config_hash, bool force);

    const std::vector<nlohmann::json>& previous() const { return previous_; }
    bool done(const std::string& probe_id) const { return ids_.count(probe_id) > 0; }
    bool dropped_partial_tail() const { return dropped_partial_tail_; }

    void append(const nlohmann::ordered_json& record);  // one line, flushed

private:
    std::string path_;
    std::vector<nlohmann::json> previous_;
    std::set<std::string> ids_;
    bool dropped_partial_tail_ = false;
    std::ofstream out_;
};

}  // namespace hearth::audit
