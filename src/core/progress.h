#pragma once
// A terminal progress bar on stderr for anything a person waits for (loading, hashing, an
// audit run), with the time so far and an estimate of the time left (ETA m:ss).
// Silent when stderr is not a terminal, and only drawn once the work has taken over a
// second, so quick steps do not flash a bar.
#include <chrono>
#include <cstdint>
#include <string>

namespace hearth {

// The time left at the average rate so far, as m:ss (h:mm:ss from an hour): "" before the
// first unit is done or once all are.
std::string progress_eta(double elapsed_s, uint64_t done, uint64_t total);

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
