// How a connection reaches the platform: directly, or through an HTTP
// CONNECT proxy. The proxy settings (host/proxy) decide the routes; the HTTPS
// client tries them in order on every new connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vigil::link {

struct ProxyHop {
  bool tls = false;  // https:// proxy: TLS to the proxy, then TLS to the platform inside
  std::string host;
  uint16_t port = 0;
  std::string user;  // plain text, in memory only; empty = no authentication
  std::string password;

  // scheme://host:port, never the credentials.
  std::string display() const;
};

struct Route {
  std::optional<ProxyHop> proxy;  // none = direct
  std::string source;             // where it came from: "ProxyUrls", "PAC", "WPAD", "proxy file", ...

  std::string display() const;  // "direct" or "proxy http://host:port (source)"
};

struct RoutePlan {
  std::vector<Route> routes;
  // After every route failed: try a direct connection (fail open) or not (fail closed).
  bool direct_fallback = true;
  // Why part of the configuration gave no routes (a PAC that failed, ...): reported with the failures.
  std::vector<std::string> problems;
  // Per connection attempt, in milliseconds.
  int connect_timeout_ms = 3000;

  static RoutePlan direct() { return {{Route{std::nullopt, "default"}}, true, {}, 3000}; }
};

}  // namespace vigil::link
