#pragma once
// SHA-256 helpers for the audit workbench (OpenSSL libcrypto EVP).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::audit {

// Incremental SHA-256.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::string hex();  // finishes; lower-case hex of the 32-byte digest

private:
    void* ctx_;  // EVP_MD_CTX
};

std::string sha256_hex(std::string_view data);

// Streams the file through SHA-256 in 4 MiB reads; shows a core/progress.h bar on a
// terminal when `progress`. Throws hearth::Error naming the path on a read error.
std::string sha256_file(const std::string& path, bool progress = true);

}  // namespace hearth::audit
