#pragma once
// A terminal progress bar on stderr for anything a person waits for (loading, hashing).
// Silent when stderr is not a terminal, and only drawn once the work has taken over a
// second, so quick steps do not flash a bar.
#include <chrono>
#include <cstdint>
#include <string>

namespace hearth {

class Progress {
public:
    Progress(std::string label, uint64_t total);
    ~Progress();
    void update(uint64_t done);
    void finish();

private:
    std::string label_;
    uint64_t total_;
    bool tty_;
    bool drawn_ = false;
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_;
};

}  // namespace hearth
