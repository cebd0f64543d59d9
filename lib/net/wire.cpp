#include "vigil/net/wire.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <cctype>
#include <charconv>

namespace vigil::wire {

std::string Url::to_string() const {
  return "https://" + HostPort{host, port}.to_string() + prefix;
}

Result<HostPort> parse_host_port(std::string_view authority, uint16_t default_port) {
  HostPort parsed{{}, default_port};
  bool has_port = false;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{"unterminated [IPv6] address"};
    parsed.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return Error{"garbage after the [IPv6] address"};
    has_port = !after.empty();
    if (has_port) port_text = after.substr(1);
  } else {
    size_t colon = authority.find(':');
    parsed.host = std::string(authority.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port_text = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) return Error{"no host"};
  for (char c : parsed.host) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':' || c == '_';
    if (!ok) return Error{"bad character in host"};
  }
  if (has_port) {
    unsigned port = 0;
    auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return Error{"port must be 1-65535"};
    }
    parsed.port = static_cast<uint16_t>(port);
  }
  return parsed;
}

std::string HostPort::to_string() const {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Url> parse_url(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Error{"invalid platform URL '" + std::string(text) + "': " + why};
  };
  constexpr std::string_view scheme = "https://";
  if (text.substr(0, scheme.size()) != scheme) return invalid("it must start with https://");
  std::string_view rest = text.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find_first_of("?# ") != std::string_view::npos) return invalid("no query, fragment or space allowed");
  if (authority.find('@') != std::string_view::npos) return invalid("no user information allowed");
  auto host_port = parse_host_port(authority, 443);
  if (!host_port.ok()) return invalid(host_port.error());
  Url url;
  url.host = std::move(host_port->host);
  url.port = host_port->port;
  url.prefix = std::string(path);
  return url;
}

Result<std::string> gzip(std::string_view data) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error{"gzip: cannot initialise zlib"};
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return Error{"gzip: compression failed"};
  return out;
}

Result<std::string> gunzip(std::string_view data) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return Error{"gunzip: cannot initialise zlib"};
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[64 * 1024];
  int result = Z_OK;
  while (result != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    result = inflate(&stream, Z_NO_FLUSH);
    if (result != Z_OK && result != Z_STREAM_END) {
      inflateEnd(&stream);
      return Error{"gunzip: corrupt or truncated gzip body"};
    }
    out.append(buffer, sizeof(buffer) - stream.avail_out);
    if (out.size() > kMaxBodyBytes) {
      inflateEnd(&stream);
      return Error{"gunzip: body larger than " + std::to_string(kMaxBodyBytes) + " bytes once decompressed"};
    }
    if (result == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      return Error{"gunzip: truncated gzip body"};
    }
  }
  inflateEnd(&stream);
  if (stream.avail_in != 0) return Error{"gunzip: trailing bytes after the gzip body"};
  return out;
}

bool is_ip_literal(std::string_view host) {
  std::string text(host);
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

}  // namespace vigil::wire
