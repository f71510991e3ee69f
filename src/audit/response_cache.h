#pragma once
// The response cache of `hearth audit run --cache`: a model's answers kept on disk, so that a
// rerun of the same requests answers from the file instead of the model. The key is SHA-256 of
// what determines a greedy answer: the model (its file's SHA-256, or endpoint + served model
// name), the exact request (the rendered prompt, or the messages sent), the sampling and the
// token limit. Change any of them and the key changes, so a hit is an answer to the very
// same request.
//
// The file is JSON lines, one {"key", "generation"} per answer, appended and flushed as each
// answer arrives, so an interrupted run keeps what it got. A partial last line (a crash mid-
// write) is ignored on load; any other malformed line is an error naming the line.
#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include "audit/runner.h"

namespace hearth::audit {

// The cache key of one request: SHA-256 over the parts, each length-prefixed so that no two
// different part lists give the same byte string.
std::string response_cache_key(const std::string& model_identity, const std::string& request,
                               const std::string& sampling, int64_t max_tokens);

nlohmann::ordered_json generation_json(const Generation& g);
Generation generation_from_json(const nlohmann::json& j);  // throws hearth::Error on a wrong shape

class ResponseCache {
public:
    // `path`: a file, or a directory (which then holds responses.jsonl). Created if missing.
    explicit ResponseCache(const std::string& path);

    const Generation* find(const std::string& key);  // counts a hit or a miss
    void put(const std::string& key, const Generation& g);

    const std::string& file() const { return file_; }
    size_t size() const { return entries_.size(); }
    int64_t hits() const { return hits_; }
    int64_t misses() const { return misses_; }

private:
    std::string file_;
    std::map<std::string, Generation> entries_;
    std::ofstream out_;
    int64_t hits_ = 0, misses_ = 0;
};

}  // namespace hearth::audit
