#include "proxy/proxy_url.h"

#include "vigil/text/text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

namespace vigil::proxy {
namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && to_lower(text.substr(0, prefix.size())) == prefix;
}

bool token_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

Result<Credential> parse_credential(std::string_view text, const char* what) {
  if (!text.empty() && text.front() == '#') {
    std::string_view token = text.substr(1);
    if (token.empty() || !std::all_of(token.begin(), token.end(), token_character)) {
      return Error{std::string("the encrypted ") + what + " (#TOKEN) is not a token from vigilctl encrypt-string"};
    }
    return Credential{std::string(token), true};
  }
  auto decoded = percent_decode(text);
  if (!decoded.ok()) return Error{std::string("the ") + what + " " + decoded.error()};
  return Credential{std::move(decoded.value()), false};
}

// 16 bytes for IPv6, 4 for IPv4; nullopt when `text` is not an address.
std::optional<std::vector<unsigned char>> address_bytes(const std::string& text) {
  std::array<unsigned char, 16> buffer{};
  if (inet_pton(AF_INET, text.c_str(), buffer.data()) == 1)
    return std::vector<unsigned char>(buffer.begin(), buffer.begin() + 4);
  if (inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1)
    return std::vector<unsigned char>(buffer.begin(), buffer.end());
  return std::nullopt;
}

bool same_prefix(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b, int bits) {
  if (a.size() != b.size()) return false;
  int full = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[static_cast<size_t>(full)] & mask) == (b[static_cast<size_t>(full)] & mask);
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      unsigned value = 0;
      if (i + 2 >= text.size()) return Error{"has a % not followed by two hex digits"};
      auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (error != std::errc() || end != text.data() + i + 3) return Error{"has a % not followed by two hex digits"};
      out += static_cast<char>(value);
      i += 2;
    } else if (c == '@' || c == ':' || c == '/' || c == ';' || std::iscntrl(static_cast<unsigned char>(c))) {
      return Error{std::string("has a '") +
                   (std::iscntrl(static_cast<unsigned char>(c)) ? std::string("control") : std::string(1, c)) +
                   "' character: URL-encode special characters (e.g. @ as %40)"};
    } else {
      out += c;
    }
  }
  return out;
}

std::string mask_credentials(std::string_view text) {
  size_t start = text.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = text.find_first_of("/;", start);
  std::string_view authority = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(text);
  return std::string(text.substr(0, start)) + "***" + std::string(text.substr(start + at));
}

std::string ProxyUrl::display() const {
  return std::string(tls ? "https://" : "http://") + address.to_string();
}

std::string ProxyUrl::to_string() const {
  std::string userinfo;
  auto written = [](const Credential& credential) {
    return credential.encrypted ? "#" + credential.text : percent_encode(credential.text);
  };
  if (user) userinfo = written(*user);
  if (password) userinfo += ":" + written(*password);
  if (user || password) userinfo += "@";
  return std::string(tls ? "https://" : "http://") + userinfo + address.to_string();
}

Result<ProxyUrl> parse_proxy_url(std::string_view written) {
  std::string_view text = trim(written);
  const std::string_view whole = text;
  auto invalid = [&](const std::string& why) {
    return Error{"invalid proxy URL '" + mask_credentials(whole) + "': " + why};
  };
  if (text.empty()) return invalid("it is empty");
  ProxyUrl url;
  if (starts_with_nocase(text, "https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (starts_with_nocase(text, "http://")) {
    text.remove_prefix(7);
  } else if (size_t scheme = text.find("://"); scheme != std::string_view::npos) {
    return invalid("unsupported scheme '" + std::string(text.substr(0, scheme)) + "' (use http:// or https://)");
  }
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    if (text.substr(slash) != "/") return invalid("a proxy URL has no path, query or fragment");
    text = text.substr(0, slash);
  }
  if (text.find_first_of(" \t?#") != std::string_view::npos && text.rfind('@') == std::string_view::npos) {
    return invalid("no spaces, '?' or '#' allowed in the host");
  }
  size_t at = text.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = text.substr(0, at);
    size_t colon = userinfo.find(':');
    auto user = parse_credential(userinfo.substr(0, colon), "user name");
    if (!user.ok()) return invalid(user.error());
    if (user->text.empty()) return invalid("the user name is empty");
    url.user = std::move(user.value());
    if (colon != std::string_view::npos) {
      auto password = parse_credential(userinfo.substr(colon + 1), "password");
      if (!password.ok()) return invalid(password.error());
      url.password = std::move(password.value());
    }
    text = text.substr(at + 1);
  }
  auto address = wire::parse_host_port(text, url.tls ? 443 : 80);
  if (!address.ok()) return invalid(address.error());
  url.address = std::move(address.value());
  return url;
}

Result<std::vector<ProxyUrl>> parse_proxy_list(std::string_view text) {
  std::vector<std::string_view> entries;
  for (size_t start = 0;;) {
    size_t end = text.find(';', start);
    entries.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (entries.size() > 1 && trim(entries.back()).empty()) entries.pop_back();
  if (entries.size() > kMaxProxies) {
    return Error{"too many proxies: " + std::to_string(entries.size()) + " (at most " + std::to_string(kMaxProxies) +
                 ")"};
  }
  std::vector<ProxyUrl> proxies;
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string where = "proxy " + std::to_string(i + 1) + " of " + std::to_string(entries.size());
    if (trim(entries[i]).empty()) return Error{where + " is empty (two ';' in a row?)"};
    auto proxy = parse_proxy_url(entries[i]);
    if (!proxy.ok()) return Error{where + ": " + proxy.error()};
    proxies.push_back(std::move(proxy.value()));
  }
  return proxies;
}

std::string format_proxy_list(const std::vector<ProxyUrl>& proxies) {
  std::string out;
  for (const auto& proxy : proxies) out += (out.empty() ? "" : ";") + proxy.to_string();
  return out;
}

NoProxy NoProxy::parse(std::string_view text) {
  NoProxy parsed;
  std::string current;
  auto flush = [&] {
    std::string_view entry = trim(current);
    if (!entry.empty()) {
      Entry out;
      std::string name = to_lower(entry);
      // host:port, [v6]:port; a bare IPv6 address has several colons and no port.
      if (!name.empty() && name.front() == '[') {
        size_t close = name.find(']');
        std::string after = close == std::string::npos ? "" : name.substr(close + 1);
        if (after.size() > 1 && after.front() == ':') out.port = static_cast<uint16_t>(std::atoi(after.c_str() + 1));
        name = name.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        if (!after.empty() && after.front() == '/') name += after;  // [v6]/prefix
      } else if (std::count(name.begin(), name.end(), ':') == 1) {
        size_t colon = name.find(':');
        out.port = static_cast<uint16_t>(std::atoi(name.c_str() + colon + 1));
        name = name.substr(0, colon);
      }
      if (size_t slash = name.find('/'); slash != std::string::npos) {
        out.prefix = std::atoi(name.c_str() + slash + 1);
        name = name.substr(0, slash);
      }
      while (!name.empty() && name.front() == '.') name.erase(0, 1);
      if (name.rfind("*.", 0) == 0) name.erase(0, 2);
      out.name = name;
      if (!out.name.empty()) parsed.entries_.push_back(std::move(out));
    }
    current.clear();
  };
  for (char c : text) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      flush();
    } else {
      current += c;
    }
  }
  flush();
  return parsed;
}

bool NoProxy::matches(std::string_view host_text, uint16_t port) const {
  std::string host = to_lower(host_text);
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  while (!host.empty() && host.back() == '.') host.pop_back();
  auto host_address = address_bytes(host);
  for (const auto& entry : entries_) {
    if (entry.port != 0 && entry.port != port) continue;
    if (entry.name == "*") return true;
    auto entry_address = address_bytes(entry.name);
    if (entry_address) {
      if (!host_address) continue;
      int bits = entry.prefix >= 0 ? entry.prefix : static_cast<int>(entry_address->size() * 8);
      bits = std::min(bits, static_cast<int>(entry_address->size() * 8));
      if (same_prefix(*host_address, *entry_address, bits)) return true;
      continue;
    }
    if (host == entry.name) return true;
    if (host.size() > entry.name.size() &&
        host.compare(host.size() - entry.name.size(), entry.name.size(), entry.name) == 0 &&
        host[host.size() - entry.name.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace vigil::proxy
