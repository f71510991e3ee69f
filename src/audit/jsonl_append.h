#pragma once
// JSON-lines files that hearth appends to one record at a time (the results of `audit run
// --out`, the response cache). A crash can cut the last record short; such a file is read
// back with the partial last line dropped and cut off the file, so that the next appended
// record starts on a line of its own.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::audit {

struct JsonlContents {
    std::vector<nlohmann::json> records;
    bool dropped_partial_tail = false;  // a last line with no newline that was not a JSON object
};

// Reads every line of `path` as a JSON object (blank lines skipped). A last line without a
// newline that does not parse is dropped and truncated off the file; a bad line anywhere else
// throws hearth::Error naming path:line. A missing file reads as empty.
JsonlContents read_jsonl_for_append(const std::string& path);

}  // namespace hearth::audit
