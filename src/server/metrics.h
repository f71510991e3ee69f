#pragma once
// Server counters in Prometheus' text exposition format (GET /metrics).
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hearth::server {

class Metrics {
public:
    // Upper bounds (seconds) of the time-to-first-token histogram buckets; +Inf is implied.
    static constexpr std::array<double, 12> kTtftBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

    void count_request(const std::string& endpoint, int status);
    void add_tokens(const std::string& model, int64_t prompt, int64_t completion);
    void observe_ttft(const std::string& model, double seconds);
    void count_cancelled(const std::string& model);
    void count_rejected(const std::string& model);  // queue full (429)
    // Shadow evaluation (server/shadow.h): outcome "recorded" (both answers written), "failed"
    // (the candidate failed: written with its error, or the write failed) or "dropped" (no room).
    void enable_shadow();  // the counter is shown (at 0) from now on
    void count_shadow(const std::string& outcome);

    struct QueueGauge {
        std::string model;
        int64_t waiting = 0;
        int64_t running = 0;
    };
    std::string render(const std::vector<QueueGauge>& queues) const;

    // Test hooks.
    uint64_t requests(const std::string& endpoint, int status) const;
    uint64_t shadow(const std::string& outcome) const;

private:
    struct Histogram {
        std::array<uint64_t, kTtftBuckets.size()> le{};  // non-cumulative counts per bucket
        uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, uint64_t> prompt_tokens_, completion_tokens_, cancelled_, rejected_;
    std::map<std::string, Histogram> ttft_;
    bool shadow_enabled_ = false;
    std::map<std::string, uint64_t> shadow_;  // by outcome
};

// Prometheus label value escaping (backslash, quote, newline).
std::string prom_escape(const std::string& s);

}  // namespace hearth::server
