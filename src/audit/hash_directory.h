#pragma once
// One SHA-256 for a model directory (an imported Hugging Face model): the digest of the
// `sha256sum` listing of its top-level regular files in byte order of their names, so
//   cd DIR && LC_ALL=C sha256sum * | sha256sum
// reproduces it (dot-files and sub-directories are left out, as that glob leaves them out).
#include <string>

namespace hearth::audit {

// Throws hearth::Error naming the file on a read error.
std::string sha256_directory(const std::string& dir, bool progress = true);

}  // namespace hearth::audit
