#pragma once
// API keys and what each may do. Keys are held in memory only as SHA-256 digests and checked
// in constant time (every stored digest is compared, with CRYPTO_memcmp, whatever the earlier
// ones gave). Each key has an id (named in the audit log), an optional list of models it may
// use, a request-size limit and a token rate limit (a token bucket per key).
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::server {

struct KeyPolicy {
    std::string id;
    std::array<unsigned char, 32> digest{};
    std::vector<std::string> models;  // empty: any
    size_t max_request_bytes = 0;     // 0: no per-key limit
    double tokens_per_minute = 0;     // 0: unlimited

    bool allows(const std::string& requested, const std::string& resolved) const;
};

class ApiKeys {
public:
    using Digest = std::array<unsigned char, 32>;

    void add(std::string_view key);  // unrestricted, id "key-N"; throws hearth::Error for an empty key
    void add(KeyPolicy p);           // throws hearth::Error for a duplicate id
    bool empty() const { return keys_.empty(); }
    size_t size() const { return keys_.size(); }
    bool check(std::string_view presented) const { return find(presented) != nullptr; }
    // The policy of the key presented, or nullptr.
    const KeyPolicy* find(std::string_view presented) const;

    // "Bearer KEY" -> KEY (scheme case-insensitive, surrounding spaces dropped); nullopt otherwise.
    static std::optional<std::string_view> bearer(std::string_view authorization);
    static Digest sha256(std::string_view data);
    static std::string hex(const Digest& d);
    static Digest from_hex(const std::string& hex);  // throws hearth::Error unless 64 hex digits

private:
    std::vector<KeyPolicy> keys_;
};

// Token buckets, one per key id: capacity = tokens_per_minute, refilled continuously at
// tokens_per_minute / 60 per second, starting full. A request is admitted while the bucket
// holds at least its prompt's tokens (or is full, so a prompt larger than the capacity is not
// refused forever); its prompt tokens are taken on admission and its completion tokens when
// it ends, so a long answer can leave the bucket in debt and the next request waits longer.
class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    // 0 when admitted (prompt tokens taken), else the seconds to wait before a retry (>= 1).
    int admit(const std::string& id, double tokens_per_minute, int64_t prompt_tokens, Clock::time_point now = Clock::now());
    void charge(const std::string& id, double tokens_per_minute, int64_t tokens, Clock::time_point now = Clock::now());
    double level(const std::string& id, double tokens_per_minute, Clock::time_point now = Clock::now());

private:
    struct Bucket {
        double level = 0;
        Clock::time_point at;
        bool init = false;
    };
    Bucket& refill(const std::string& id, double tpm, Clock::time_point now);
    std::mutex mu_;
    std::map<std::string, Bucket> buckets_;
};

}  // namespace hearth::server
