// Secrets at rest (proxy credentials): AES-256-GCM with a random 256-bit key
// in a file only its owner can read (<config>/secret.key, mode 0600, made on
// first use). A sealed secret is a token of URL-safe characters, so it can
// stand inside a proxy URL as #TOKEN. Tampering, a truncated token or another
// machine's key are errors, never garbage.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil::proxy {

class SecretBox {
 public:
  // The key must exist (the agent never makes one behind the operator's back).
  static Result<SecretBox> load(const std::filesystem::path& key_file);
  // Makes the key when there is none (vigilctl encrypt-string, vigilctl proxy).
  static Result<SecretBox> load_or_create(const std::filesystem::path& key_file);

  std::string seal(std::string_view plain) const;
  Result<std::string> open(std::string_view token) const;

 private:
  explicit SecretBox(const std::array<unsigned char, 32>& key) : key_(key) {}
  std::array<unsigned char, 32> key_;
};

}  // namespace vigil::proxy
