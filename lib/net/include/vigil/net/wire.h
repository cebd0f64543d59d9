// What both ends of the platform link share: platform URLs, gzip bodies and
// the limits on what either side accepts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil::wire {

inline constexpr std::string_view kContentType = "application/x-protobuf";
inline constexpr size_t kCompressAbove = 1024;             // smaller bodies are sent as they are
inline constexpr size_t kMaxBodyBytes = size_t{64} << 20;  // after decompression

struct HostPort {
  std::string host;  // IPv6 without brackets
  uint16_t port = 0;
  std::string to_string() const;  // host:port, [v6]:port
};
// host[:port] or [v6][:port]; `default_port` when none is given. The error
// says what is wrong, not where: callers name the input.
Result<HostPort> parse_host_port(std::string_view authority, uint16_t default_port);

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

std::string base64(std::string_view bytes);  // standard alphabet, padded

}  // namespace vigil::wire
