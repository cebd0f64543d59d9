// Step 10, patch connectivity: a file the platform serves is downloaded on
// each route that reached it and checked against the length and sha256 the
// agent already trusts (the update metadata's snapshot, as the trusted
// timestamp describes it): what a plugin or patch download needs, end to end.
#include <fmt/format.h>

#include "health/steps.h"

namespace vigil::health {

Step check_patch_connectivity(const Context& context) {
  Step step{.name = "patch_connectivity", .title = "Patch connectivity"};
  const PlatformProbes& probes = context.probes;
  if (!probes.configured) {
    step.skipped = true;
    step.lines.push_back("no platform is configured: nothing to download");
    return step;
  }
  if (probes.known_file.empty()) {
    step.skipped = true;
    step.lines.push_back("no file to check yet: the agent has not verified the platform's update metadata");
    return step;
  }
  step.details = {{"file", probes.known_file}, {"routes", nlohmann::json::array()}};
  const RouteProbe* taken = probes.route_taken();
  for (const RouteProbe& route : probes.routes) {
    if (!route.download.tried) continue;
    const DownloadProbe& download = route.download;
    step.details["routes"].push_back({{"route", route.route},
                                      {"verified", download.verified},
                                      {"bytes", download.bytes},
                                      {"milliseconds", download.milliseconds},
                                      {"error", download.error}});
    step.lines.push_back(download.verified
                             ? fmt::format("{}: {} downloaded ({} bytes, {} ms) and its sha256 verified", route.route,
                                           probes.known_file, download.bytes, download.milliseconds)
                             : fmt::format("{}: {} failed: {}", route.route, probes.known_file, download.error));
  }
  if (!taken) {
    step.lines.push_back("no route reaches the platform (step 6): nothing was downloaded");
    return step;
  }
  if (!taken->download.verified) {
    bool damaged = taken->download.error.find("sha256") != std::string::npos ||
                   taken->download.error.find("length") != std::string::npos;
    step.add(Severity::kCritical, damaged ? "patch-download-altered" : "patch-download-failed",
             "on the agent's route (" + taken->route + "), " + probes.known_file +
                 (damaged ? " arrived changed: " : " could not be downloaded: ") + taken->download.error,
             damaged ? "something between this machine and the platform changes downloads (a proxy that rewrites "
                       "or truncates replies): let the platform's address through unchanged"
                     : "the platform answers but refuses or breaks downloads: check its log, and that this agent's "
                       "token is current (vigilctl checkin)");
  }
  return step;
}

}  // namespace vigil::health
