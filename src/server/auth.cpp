#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>

#include "core/error.h"

namespace hearth::server {

ApiKeys::Digest ApiKeys::sha256(std::string_view data) {
    Digest d{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size())
        throw Error("SHA-256 failed (OpenSSL)");
    return d;
}

void ApiKeys::add(std::string_view key) {
    if (key.empty()) throw Error("--api-key: empty key");
    digests_.push_back(sha256(key));
}

bool ApiKeys::check(std::string_view presented) const {
    const Digest d = sha256(presented);
    int match = 0;
    for (const Digest& k : digests_) match |= CRYPTO_memcmp(k.data(), d.data(), d.size()) == 0 ? 1 : 0;
    return match != 0;
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

}  // namespace hearth::server
