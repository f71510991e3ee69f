#include "audit/jsonl_append.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace hearth::audit {

JsonlContents read_jsonl_for_append(const std::string& path) {
    JsonlContents out;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return out;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    size_t pos = 0, line_no = 0;
    while (pos < data.size()) {
        ++line_no;
        const size_t nl = data.find('\n', pos);
        const bool complete = nl != std::string::npos;
        const std::string line = data.substr(pos, complete ? nl - pos : std::string::npos);
        const size_t next = complete ? nl + 1 : data.size();
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            pos = next;
            continue;
        }
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            if (complete) throw Error(path + ":" + std::to_string(line_no) + ": not a JSON object");
            // The record a crash cut short: nothing after it, so it can go.
            in.close();
            std::filesystem::resize_file(path, pos, ec);
            if (ec) throw Error(path + ": cannot cut off the partial last line: " + ec.message());
            out.dropped_partial_tail = true;
            break;
        }
        if (!complete) {
            // A whole record whose newline was not written yet: keep it, and end the line.
            std::ofstream app(path, std::ios::binary | std::ios::app);
            app << "\n";
            if (!app) throw Error(path + ": cannot write");
        }
        out.records.push_back(std::move(j));
        pos = next;
    }
    return out;
}

}  // namespace hearth::audit
