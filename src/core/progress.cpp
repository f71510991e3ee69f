#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace hearth {

std::string progress_eta(double elapsed_s, uint64_t done, uint64_t total) {
    if (done == 0 || done >= total || !(elapsed_s >= 0)) return "";
    const double left = elapsed_s * static_cast<double>(total - done) / static_cast<double>(done);
    const auto s = static_cast<long long>(left + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
    return buf;
}

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), tty_(::isatty(2) != 0),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(uint64_t done) {
    if (!tty_ || finished_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(1)) return;
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total_) return;
    last_ = now;
    drawn_ = true;
    double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
    if (frac > 1.0) frac = 1.0;
    const int width = 30;
    int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), '.');
    double secs = std::chrono::duration<double>(now - start_).count();
    // ETA at the average rate so far: steady work (hashing, probes of similar length) is
    // what this bar shows, so the simple estimate is the honest one.
    const std::string eta = progress_eta(secs, done, total_);
    std::fprintf(stderr, "\r%s [%s] %5.1f%% %.1fs%s%s\033[K", label_.c_str(), bar.c_str(), frac * 100.0, secs,
                 eta.empty() ? "" : " ETA ", eta.c_str());
    std::fflush(stderr);
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    if (drawn_) {
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
    }
}

}  // namespace hearth
