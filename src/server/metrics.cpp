#include "server/metrics.h"

#include <cstdio>

namespace hearth::server {

std::string prom_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '\\') o += "\\\\";
        else if (c == '"') o += "\\\"";
        else if (c == '\n') o += "\\n";
        else o += c;
    }
    return o;
}

void Metrics::count_request(const std::string& endpoint, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_[{endpoint, status}];
}

void Metrics::add_tokens(const std::string& model, int64_t prompt, int64_t completion) {
    std::lock_guard<std::mutex> lock(mu_);
    prompt_tokens_[model] += static_cast<uint64_t>(prompt);
    completion_tokens_[model] += static_cast<uint64_t>(completion);
}

void Metrics::observe_ttft(const std::string& model, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    Histogram& h = ttft_[model];
    size_t i = 0;
    while (i < kTtftBuckets.size() && seconds > kTtftBuckets[i]) ++i;
    if (i < kTtftBuckets.size()) ++h.le[i];
    ++h.count;
    h.sum += seconds;
}

void Metrics::count_cancelled(const std::string& model) {
    std::lock_guard<std::mutex> lock(mu_);
    ++cancelled_[model];
}

void Metrics::count_rejected(const std::string& model) {
    std::lock_guard<std::mutex> lock(mu_);
    ++rejected_[model];
}

void Metrics::enable_shadow() {
    std::lock_guard<std::mutex> lock(mu_);
    shadow_enabled_ = true;
    for (const char* o : {"recorded", "failed", "dropped"}) shadow_[o] += 0;
}

void Metrics::count_shadow(const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    ++shadow_[outcome];
}

uint64_t Metrics::shadow(const std::string& outcome) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = shadow_.find(outcome);
    return it == shadow_.end() ? 0 : it->second;
}

uint64_t Metrics::requests(const std::string& endpoint, int status) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = requests_.find({endpoint, status});
    return it == requests_.end() ? 0 : it->second;
}

namespace {
std::string num(double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", x);
    return buf;
}
void family(std::string& o, const char* name, const char* type, const char* help) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}
void per_model(std::string& o, const char* name, const std::map<std::string, uint64_t>& m) {
    for (const auto& [model, v] : m) o += std::string(name) + "{model=\"" + prom_escape(model) + "\"} " + std::to_string(v) + "\n";
}
}  // namespace

std::string Metrics::render(const std::vector<QueueGauge>& queues) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string o;
    family(o, "hearth_http_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
    for (const auto& [key, v] : requests_)
        o += "hearth_http_requests_total{endpoint=\"" + prom_escape(key.first) + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(v) + "\n";
    family(o, "hearth_prompt_tokens_total", "counter", "Prompt tokens processed.");
    per_model(o, "hearth_prompt_tokens_total", prompt_tokens_);
    family(o, "hearth_completion_tokens_total", "counter", "Tokens generated.");
    per_model(o, "hearth_completion_tokens_total", completion_tokens_);
    family(o, "hearth_requests_cancelled_total", "counter", "Generations stopped because the client went away.");
    per_model(o, "hearth_requests_cancelled_total", cancelled_);
    family(o, "hearth_requests_rejected_total", "counter", "Requests refused with 429 because the queue was full.");
    per_model(o, "hearth_requests_rejected_total", rejected_);
    family(o, "hearth_queue_depth", "gauge", "Requests waiting for the model.");
    for (const auto& q : queues)
        o += "hearth_queue_depth{model=\"" + prom_escape(q.model) + "\"} " + std::to_string(q.waiting) + "\n";
    family(o, "hearth_requests_running", "gauge", "Requests being generated.");
    for (const auto& q : queues)
        o += "hearth_requests_running{model=\"" + prom_escape(q.model) + "\"} " + std::to_string(q.running) + "\n";
    family(o, "hearth_time_to_first_token_seconds", "histogram",
           "Seconds from a request's arrival to its first generated text.");
    for (const auto& [model, h] : ttft_) {
        const std::string lbl = "model=\"" + prom_escape(model) + "\"";
        uint64_t cum = 0;
        for (size_t i = 0; i < kTtftBuckets.size(); ++i) {
            cum += h.le[i];
            o += "hearth_time_to_first_token_seconds_bucket{" + lbl + ",le=\"" + num(kTtftBuckets[i]) + "\"} " +
                 std::to_string(cum) + "\n";
        }
        o += "hearth_time_to_first_token_seconds_bucket{" + lbl + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
        o += "hearth_time_to_first_token_seconds_sum{" + lbl + "} " + num(h.sum) + "\n";
        o += "hearth_time_to_first_token_seconds_count{" + lbl + "} " + std::to_string(h.count) + "\n";
    }
    if (shadow_enabled_) {
        family(o, "hearth_shadow_requests_total", "counter",
               "Requests mirrored to the shadow candidate, by outcome (recorded, failed, dropped).");
        for (const auto& [outcome, v] : shadow_)
            o += "hearth_shadow_requests_total{outcome=\"" + prom_escape(outcome) + "\"} " + std::to_string(v) + "\n";
    }
    return o;
}

}  // namespace hearth::server
