// Random identifiers from OpenSSL's CSPRNG: tokens, nonces and UUIDs.
#pragma once

#include <cstddef>
#include <string>

namespace vigil::crypto {

// `bytes` random bytes as hex (twice as many digits).
std::string random_hex(size_t bytes);
// A version 4 UUID, lowercase.
std::string random_uuid();
// 8-4-4-4-12 hex digits, either case.
bool is_uuid(const std::string& text);

}  // namespace vigil::crypto
