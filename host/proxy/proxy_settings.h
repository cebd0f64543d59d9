// The agent's proxy settings: config keys written by `vigilctl proxy`, the
// proxy file (<config>/proxy) and the process environment. Everything is
// validated here, for vigilctl before it writes and for the agent before it
// connects, so both refuse the same things with the same words.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/proxy_url.h"
#include "vigil/result/result.h"

namespace vigil::proxy {

namespace keys {
inline constexpr const char* kUrls = "ProxyUrls";                      // ';'-separated proxy URLs
inline constexpr const char* kUser = "ProxyUser";                      // encrypted token
inline constexpr const char* kPassword = "ProxyPassword";              // encrypted token
inline constexpr const char* kPac = "ProxyPac";                        // PAC file URL
inline constexpr const char* kWpad = "ProxyWpad";                      // on|off, default off
inline constexpr const char* kSystem = "ProxySystem";                  // on|off, default on
inline constexpr const char* kDirectFallback = "ProxyDirectFallback";  // on|off, default on
inline constexpr const char* kOrder = "ProxyOrder";                    // sequential|seq|random
inline constexpr const char* kConnectTimeout = "ConnectTimeout";       // seconds, 1-120, default 3
}  // namespace keys

// Every key above, for deleting them all.
const std::vector<const char*>& all_keys();

using ConfigLookup = std::function<std::optional<std::string>(const char* key)>;

struct ProxySettings {
  std::vector<ProxyUrl> urls;
  std::optional<Credential> user;  // for proxies without their own (list, PAC, WPAD)
  std::optional<Credential> password;
  std::string pac;
  // read() sets these to the settings registry's defaults, then the configured values.
  bool wpad = false;
  bool system = false;
  bool direct_fallback = false;
  bool random_order = false;
  int connect_timeout_seconds = 0;

  static Result<ProxySettings> read(const ConfigLookup& config);
};

// on/off, also true/false, yes/no, 1/0.
Result<bool> parse_switch(const std::string& key, const std::string& value);
// ProxyOrder: true for random.
Result<bool> parse_order(const std::string& value);
Result<int> parse_connect_timeout(const std::string& value);
// http://, https:// or file:///absolute/path.
Status check_pac_url(const std::string& url);

// <config>/proxy: NAME=value lines (optionally `export NAME=value`, quoted values, # comments).
struct ProxyFile {
  std::string https_proxy;        // platform traffic and every command the agent runs
  std::string vigil_https_proxy;  // platform traffic only; wins over https_proxy there
  std::string no_proxy;
};
// A missing file is an empty one; errors name the file and line.
Result<ProxyFile> read_proxy_file(const std::filesystem::path& file);
// What commands the agent runs get in their environment (both spellings).
std::vector<std::string> command_environment(const ProxyFile& file);

}  // namespace vigil::proxy
