#include "audit/hash_directory.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "audit/hash.h"
#include "core/error.h"

namespace hearth::audit {

std::string sha256_directory(const std::string& dir, bool progress) {
    namespace fs = std::filesystem;
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        if (!n.empty() && n[0] != '.' && e.is_regular_file()) names.push_back(n);
    }
    if (ec) throw Error(dir + ": cannot list: " + ec.message());
    std::sort(names.begin(), names.end());
    std::string listing;
    for (const auto& n : names) listing += sha256_file((fs::path(dir) / n).string(), progress) + "  " + n + "\n";
    return sha256_hex(listing);
}

}  // namespace hearth::audit
