// Proxy URLs as operators write them: http://[user[:password]@]host[:port]
// or https://… (TLS to the proxy), several of them ';'-separated. A user or
// password written as #TOKEN is encrypted (see secret_box.h); plain ones are
// URL-encoded. Errors never repeat credentials.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/net/wire.h"
#include "vigil/result/result.h"

namespace vigil::proxy {

inline constexpr size_t kMaxProxies = 32;

struct Credential {
  std::string text;  // decoded plain text, or the token when encrypted
  bool encrypted = false;
};

struct ProxyUrl {
  bool tls = false;
  wire::HostPort address;
  std::optional<Credential> user;
  std::optional<Credential> password;

  // scheme://host:port, credentials left out.
  std::string display() const;
  // Back to the written form (tokens as #TOKEN, plain credentials URL-encoded).
  std::string to_string() const;
};

Result<ProxyUrl> parse_proxy_url(std::string_view text);
// `;`-separated; blanks around entries and one trailing `;` are fine, an empty entry is not.
Result<std::vector<ProxyUrl>> parse_proxy_list(std::string_view text);
std::string format_proxy_list(const std::vector<ProxyUrl>& proxies);
// The text with any user information replaced by ***, for messages and logs.
std::string mask_credentials(std::string_view text);

std::string percent_encode(std::string_view text);
Result<std::string> percent_decode(std::string_view text);

// no_proxy semantics: comma- or space-separated entries; `*` matches every
// host; a name matches itself and its subdomains (a leading '.' is optional);
// an IP address or CIDR block matches addresses; `:port` narrows an entry.
class NoProxy {
 public:
  static NoProxy parse(std::string_view text);
  bool matches(std::string_view host, uint16_t port) const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string name;  // lower case, no leading '.'
    int prefix = -1;   // CIDR prefix length when `name` is an address
    uint16_t port = 0;
  };
  std::vector<Entry> entries_;
};

}  // namespace vigil::proxy
