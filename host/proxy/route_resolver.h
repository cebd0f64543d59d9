// Decides, before every new platform connection, how to reach the platform:
// the routes to try in order and whether to fall back to a direct connection.
// Sources, first one that applies wins:
//   1. ProxyUrls (vigilctl proxy --url), in order or shuffled (ProxyOrder)
//   2. ProxyPac (vigilctl proxy --pac): FindProxyForURL for the platform URL
//   3. WPAD (vigilctl proxy --wpad on): http://wpad.<domain>/wpad.dat, as a PAC
//   4. the proxy file: vigil_https_proxy, else https_proxy
//   5. the environment (https_proxy / HTTPS_PROXY) unless ProxySystem is off
//   6. direct
// no_proxy (proxy file, and the environment for 5) sends matching hosts direct.
// Settings are read at every call, so changes apply to the next connection.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/paths.h"
#include "https/route.h"
#include "proxy/proxy_settings.h"
#include "vigil/net/wire.h"
#include "vigil/result/result.h"

namespace vigil::proxy {

struct ResolverOptions {
  Paths paths;
  ConfigLookup config;
  // Process environment; unset = getenv.
  std::function<std::optional<std::string>(const char* name)> environment;
  std::filesystem::path pac_helper;                // vigil-pac
  std::shared_ptr<boost::asio::ssl::context> tls;  // for https:// PAC URLs
  std::chrono::milliseconds pac_timeout{3000};     // evaluation of one FindProxyForURL call
  std::chrono::seconds pac_cache{300};             // a fetched PAC (or WPAD discovery) is reused this long
};

class RouteResolver {
 public:
  explicit RouteResolver(ResolverOptions options);
  Result<link::RoutePlan> plan(const wire::Url& target);

 private:
  struct Script {
    std::string url;
    std::filesystem::path file;
    std::chrono::steady_clock::time_point fetched;
  };
  Result<Script> pac_script(const std::string& url, const std::optional<std::string>& connect_address);
  Result<std::string> discover_wpad();
  void add_pac_routes(link::RoutePlan& plan, const ProxySettings& settings, const std::string& pac_url,
                      const std::optional<std::string>& connect_address, const wire::Url& target,
                      const std::string& source);
  Result<link::ProxyHop> hop(const ProxyUrl& url, const ProxySettings& settings);
  std::optional<std::string> env(const char* name) const;

  ResolverOptions options_;
  std::mutex mutex_;
  std::map<std::string, Script> scripts_;                                              // by PAC URL
  std::optional<std::pair<std::string, std::chrono::steady_clock::time_point>> wpad_;  // found URL, when
  std::optional<std::string> wpad_address_;
};

// The PAC helper next to the running executable, or in ../lib/vigil/.
std::filesystem::path default_pac_helper();

}  // namespace vigil::proxy
