#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace hearth::server {

bool KeyPolicy::allows(const std::string& requested, const std::string& resolved) const {
    if (models.empty()) return true;
    return std::find(models.begin(), models.end(), requested) != models.end() ||
           std::find(models.begin(), models.end(), resolved) != models.end();
}

ApiKeys::Digest ApiKeys::sha256(std::string_view data) {
    Digest d{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size())
        throw Error("SHA-256 failed (OpenSSL)");
    return d;
}

std::string ApiKeys::hex(const Digest& d) {
    static const char* kHex = "0123456789abcdef";
    std::string s;
    for (unsigned char c : d) {
        s += kHex[c >> 4];
        s += kHex[c & 15];
    }
    return s;
}

ApiKeys::Digest ApiKeys::from_hex(const std::string& h) {
    auto nibble = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw Error("key digest '" + h + "' is not hex");
    };
    if (h.size() != 64) throw Error("key digest must be 64 hex digits (SHA-256), got " + std::to_string(h.size()));
    Digest d{};
    for (size_t i = 0; i < 32; ++i) d[i] = static_cast<unsigned char>(nibble(h[2 * i]) * 16 + nibble(h[2 * i + 1]));
    return d;
}

void ApiKeys::add(std::string_view key) {
    if (key.empty()) throw Error("--api-key: empty key");
    KeyPolicy p;
    p.id = "key-" + std::to_string(keys_.size() + 1);
    p.digest = sha256(key);
    add(std::move(p));
}

void ApiKeys::add(KeyPolicy p) {
    for (const auto& k : keys_)
        if (k.id == p.id) throw Error("two API keys share the id '" + p.id + "'");
    keys_.push_back(std::move(p));
}

const KeyPolicy* ApiKeys::find(std::string_view presented) const {
    const Digest d = sha256(presented);
    const KeyPolicy* found = nullptr;
    for (const KeyPolicy& k : keys_) {
        // No early exit: the time taken does not depend on which key (if any) matched.
        const bool eq = CRYPTO_memcmp(k.digest.data(), d.data(), d.size()) == 0;
        if (eq && !found) found = &k;
    }
    return found;
}

std::optional<std::string_view> ApiKeys::bearer(std::string_view h) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    };
    h = trim(h);
    constexpr std::string_view scheme = "bearer";
    if (h.size() <= scheme.size() || (h[scheme.size()] != ' ' && h[scheme.size()] != '\t')) return std::nullopt;
    for (size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(h[i])) != scheme[i]) return std::nullopt;
    std::string_view key = trim(h.substr(scheme.size()));
    if (key.empty()) return std::nullopt;
    return key;
}

// ---- RateLimiter ----

RateLimiter::Bucket& RateLimiter::refill(const std::string& id, double tpm, Clock::time_point now) {
    Bucket& b = buckets_[id];
    if (!b.init) {
        b.level = tpm;
        b.at = now;
        b.init = true;
    } else if (now > b.at) {
        const double secs = std::chrono::duration<double>(now - b.at).count();
        b.level = std::min(tpm, b.level + secs * tpm / 60.0);
        b.at = now;
    }
    return b;
}

int RateLimiter::admit(const std::string& id, double tpm, int64_t prompt_tokens, Clock::time_point now) {
    if (tpm <= 0) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    Bucket& b = refill(id, tpm, now);
    const double need = std::min(static_cast<double>(prompt_tokens), tpm);
    if (b.level >= need) {
        b.level -= static_cast<double>(prompt_tokens);
        return 0;
    }
    const double wait = (need - b.level) / (tpm / 60.0);
    return std::max(1, static_cast<int>(std::ceil(wait)));
}

void RateLimiter::charge(const std::string& id, double tpm, int64_t tokens, Clock::time_point now) {
    if (tpm <= 0 || tokens <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    refill(id, tpm, now).level -= static_cast<double>(tokens);
}

double RateLimiter::level(const std::string& id, double tpm, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    return refill(id, tpm, now).level;
}

}  // namespace hearth::server
