// Message digests (OpenSSL EVP) as lowercase hex: of bytes in memory, and of a
// file read in large blocks, however big it is.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil::crypto {

// Whether OpenSSL knows `algorithm` by that name ("sha256", "sha512",
// "sha1", "md5", "blake2b512", …).
bool is_known(const std::string& algorithm);

// The digest of `data`; "sha256" when `algorithm` is not given.
std::string hex_digest(std::string_view data, const std::string& algorithm = "sha256");
inline std::string sha256_hex(std::string_view data) {
  return hex_digest(data, "sha256");
}

enum class Symlinks { kFollow, kRefuse };

// Streams `file` through the digest. Reads without touching the access time
// where the caller may (O_NOATIME); with Symlinks::kRefuse a final symlink is an
// error instead of being followed. The error is the errno text ("Permission
// denied", …) or names an unknown algorithm.
Result<std::string> hash_file(const std::filesystem::path& file, const std::string& algorithm,
                              Symlinks symlinks = Symlinks::kFollow);

}  // namespace vigil::crypto
