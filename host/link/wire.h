// What both ends of the platform link share: platform URLs, gzip bodies and
// the limits on what either side accepts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace vigil::wire {

inline constexpr std::string_view kContentType = "application/x-protobuf";
inline constexpr size_t kCompressAbove = 1024;             // smaller bodies are sent as they are
inline constexpr size_t kMaxBodyBytes = size_t{64} << 20;  // after decompression

// https://host[:port][/prefix]; nothing else is accepted.
struct Url {
  std::string host;
  uint16_t port = 443;
  std::string prefix;  // without a trailing '/', may be empty

  std::string to_string() const;
};
Result<Url> parse_url(std::string_view text);

Result<std::string> gzip(std::string_view data);
// Refuses output past kMaxBodyBytes (a decompression bomb is an error, not an OOM).
Result<std::string> gunzip(std::string_view data);

bool is_ip_literal(std::string_view host);

std::string hex(std::string_view bytes);
std::string sha256_hex(std::string_view data);

}  // namespace vigil::wire
