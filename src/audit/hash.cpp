#include "audit/hash.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/progress.h"

namespace hearth::audit {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1)
        throw Error("SHA-256: cannot initialise libcrypto digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(const void* data, size_t n) {
    if (n && EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, n) != 1) throw Error("SHA-256: update failed");
}

std::string Sha256::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len) != 1) throw Error("SHA-256: final failed");
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(digits[md[i] >> 4]);
        out.push_back(digits[md[i] & 15]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.hex();
}

std::string sha256_file(const std::string& path, bool progress) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
    uint64_t total = 0;
    if (std::fseek(f.get(), 0, SEEK_END) == 0) {
        long end = std::ftell(f.get());
        if (end > 0) total = static_cast<uint64_t>(end);
        std::fseek(f.get(), 0, SEEK_SET);
    }
    std::unique_ptr<Progress> bar;
    if (progress) bar = std::make_unique<Progress>("hashing " + path, total);
    Sha256 h;
    std::vector<char> buf(size_t{4} << 20);
    uint64_t done = 0;
    while (true) {
        size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
        if (n > 0) {
            h.update(buf.data(), n);
            done += n;
            if (bar) bar->update(done);
        }
        if (n < buf.size()) {
            if (std::ferror(f.get())) throw Error(path + ": read error while hashing");
            break;
        }
    }
    if (bar) bar->finish();
    return h.hex();
}

}  // namespace hearth::audit
