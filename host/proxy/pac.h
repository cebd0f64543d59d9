// Proxy auto-config (PAC): what FindProxyForURL returns, and running a PAC
// script. Scripts are untrusted JavaScript, so the agent never runs them in
// its own process: vigil-pac (pac_main.cpp) evaluates one call with duktape
// under memory and CPU limits, and the agent kills it at a deadline.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/net/wire.h"
#include "vigil/result/result.h"

namespace vigil::proxy {

// vigil-pac's address-space limit (not applied in sanitizer builds).
inline constexpr unsigned long kPacMemoryLimit = 512UL << 20;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

struct PacDirective {
  enum class Kind { kDirect, kProxy, kUnsupported };
  Kind kind = Kind::kDirect;
  bool tls = false;  // HTTPS host:port
  wire::HostPort address;
  std::string text;  // as written, for messages
};

// "PROXY a:3128; HTTPS b:443; DIRECT". An empty result means DIRECT; SOCKS
// entries are kept as unsupported so callers can say they skipped them.
Result<std::vector<PacDirective>> parse_pac_result(std::string_view result);

struct PacContext {
  std::string my_ip = "127.0.0.1";  // what myIpAddress() returns
  // dnsResolve(); nullopt = does not resolve. Unset: the system resolver (IPv4).
  std::function<std::optional<std::string>(const std::string& host)> resolve;
};

// Evaluates `script` and calls FindProxyForURL(url, host) in this process,
// with the standard PAC helper functions defined. Unbounded in time: only
// vigil-pac, tests and fuzzers call it; the agent calls run_pac below.
Result<std::string> find_proxy_for_url(std::string_view script, const std::string& url, const std::string& host,
                                       const PacContext& context);

// Runs `helper` (vigil-pac) on the script in `script_file`; a PAC that throws,
// loops or allocates without end fails within `timeout`.
Result<std::string> run_pac(const std::filesystem::path& helper, const std::filesystem::path& script_file,
                            const std::string& url, const std::string& host, const std::string& my_ip,
                            std::chrono::milliseconds timeout);

}  // namespace vigil::proxy
