#pragma once
// API keys: held in memory only as SHA-256 digests, checked in constant time (every stored
// digest is compared, with CRYPTO_memcmp, whatever the earlier ones gave).
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::server {

class ApiKeys {
public:
    using Digest = std::array<unsigned char, 32>;

    void add(std::string_view key);  // throws hearth::Error for an empty key
    bool empty() const { return digests_.empty(); }
    size_t size() const { return digests_.size(); }
    bool check(std::string_view presented) const;

    // "Bearer KEY" -> KEY (scheme case-insensitive, surrounding spaces dropped); nullopt otherwise.
    static std::optional<std::string_view> bearer(std::string_view authorization);
    static Digest sha256(std::string_view data);

private:
    std::vector<Digest> digests_;
};

}  // namespace hearth::server
