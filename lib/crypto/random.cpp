#include "vigil/crypto/random.h"

#include <openssl/rand.h>

#include <regex>

#include "vigil/text/hex.h"

namespace vigil::crypto {

std::string random_hex(size_t bytes) {
  std::string buffer(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(buffer.data()), static_cast<int>(buffer.size()));
  return to_hex(buffer);
}

std::string random_uuid() {
  std::string text = random_hex(16);
  text[12] = '4';                                                     // version 4
  text[16] = "89ab"[std::stoi(text.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
  return text.substr(0, 8) + "-" + text.substr(8, 4) + "-" + text.substr(12, 4) + "-" + text.substr(16, 4) + "-" +
         text.substr(20);
}

bool is_uuid(const std::string& text) {
  static const std::regex pattern("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  return std::regex_match(text, pattern);
}

}  // namespace vigil::crypto
