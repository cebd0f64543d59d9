// Reaching the platform the way the agent does: over verified TLS, directly
// and through each proxy the agent's route plan names, each attempt on its
// own thread and bounded by the timeout, so the probes take as long as the
// slowest route, not their sum.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "vigil/result/result.h"

namespace vigil::health {

// A file the platform serves whose length and digest the agent already
// trusts, fetched the way a patch would be: step 10, patch connectivity.
struct KnownFile {
  std::string name;     // "update metadata snapshot v12"
  std::string path;     // "/v1/update-metadata"
  std::string request;  // the request body
  // The file's bytes in the reply, or why the reply holds none.
  std::function<Result<std::string>(const std::string& reply)> file_of;
  int64_t length = 0;
  std::map<std::string, std::string> hashes;  // algorithm -> hex
};

struct DownloadProbe {
  bool tried = false;
  bool verified = false;  // length and every digest as trusted
  int64_t bytes = 0;
  int64_t milliseconds = 0;
  std::string error;
};

struct RouteProbe {
  std::string route;  // "direct" or "proxy http://127.0.0.1:3128 (ProxyUrls)", never credentials
  bool proxy = false;
  bool in_plan = false;  // the agent tries this route (direct: when the plan has no proxy, or falls back)
  bool reached = false;  // the platform answered HTTP over verified TLS
  int http_status = 0;
  int64_t milliseconds = 0;
  std::string error;
  std::optional<int64_t> certificate_not_after;  // the platform's certificate, unix seconds
  std::string certificate_subject;
  DownloadProbe download;  // the known file, when there is one and the platform answered
};

struct PlatformProbes {
  bool configured = false;  // ServerUri is set
  std::string server;
  std::string setup_error;  // no probe could run: bad URL, CA bundle, proxy settings
  bool direct_fallback = true;
  std::vector<std::string> plan_problems;  // parts of the proxy configuration that gave no route
  std::vector<RouteProbe> routes;          // direct first, then the plan's proxies in the agent's order
  std::string known_file;                  // its name; empty: the agent trusts no file it could check

  // The first route, in the agent's order, that reached the platform.
  const RouteProbe* route_taken() const;
};

// `config` holds the store's values of the proxy keys (the route plan reads them).
PlatformProbes probe_platform(const Paths& paths, const std::string& server_uri,
                              const std::optional<std::filesystem::path>& ca_bundle,
                              const std::map<std::string, std::string>& config, std::chrono::milliseconds timeout,
                              const std::optional<KnownFile>& known_file = std::nullopt);

}  // namespace vigil::health
