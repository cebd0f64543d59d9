// Step 6, backend connectivity: the probes of the platform, directly and
// through each proxy, with the route each took, and which one the agent uses.
#include <fmt/format.h>

#include "health/steps.h"

namespace vigil::health {
namespace {

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

// The fix for a failed attempt, from the words of its error.
std::string fix_for(const RouteProbe& route, const std::string& server) {
  const std::string& error = route.error;
  if (contains(error, "certificate") || contains(error, "verify")) {
    return "the platform's certificate is not trusted here: set CaBundle to the platform's CA "
           "(vigilctl config set CaBundle=/path/ca.pem) and check that it names the host of " +
           server;
  }
  if (route.proxy && (contains(error, "proxy") || contains(error, "CONNECT") || contains(error, "407"))) {
    return "the proxy refused or failed the tunnel: check its address and credentials (vigilctl proxy --url … "
           "--user …), or remove it (vigilctl proxy --delete)";
  }
  if (contains(error, "resolve"))
    return "the name does not resolve: check DNS, or ServerUri (vigilctl config get ServerUri)";
  if (contains(error, "refused")) {
    return route.proxy
               ? "nothing listens at the proxy's address: start the proxy or remove it (vigilctl proxy --url …)"
               : "nothing listens at " + server + ": check that the platform runs there and that ServerUri is right";
  }
  if (contains(error, "timed out") || contains(error, "timeout")) {
    return "no answer in time: check the firewall and the route to " + server +
           (route.proxy ? std::string(" through the proxy")
                        : std::string(", or configure a proxy (vigilctl proxy --url …)"));
  }
  return "check the network path to " + server + " (the error above names the step that failed)";
}

}  // namespace

Step check_connectivity(const Context& context) {
  Step step{.name = "connectivity", .title = "Backend connectivity"};
  const PlatformProbes& probes = context.probes;
  if (!probes.configured) {
    step.skipped = true;
    step.lines.push_back("no platform is configured (ServerUri is unset): nothing to reach");
    return step;
  }
  step.details = {
      {"server", probes.server}, {"direct_fallback", probes.direct_fallback}, {"routes", nlohmann::json::array()}};
  if (!probes.setup_error.empty()) {
    step.add(Severity::kCritical, "connectivity-setup", "no connection could be attempted: " + probes.setup_error,
             "fix the setting it names (vigilctl config show, vigilctl proxy --show)");
    return step;
  }
  for (const RouteProbe& route : probes.routes) {
    step.details["routes"].push_back({{"route", route.route},
                                      {"proxy", route.proxy},
                                      {"agent_uses", route.in_plan},
                                      {"reached", route.reached},
                                      {"http_status", route.http_status},
                                      {"milliseconds", route.milliseconds},
                                      {"error", route.error}});
    if (route.reached) {
      step.lines.push_back(fmt::format("{}: reached {} in {} ms (HTTP {})", route.route, probes.server,
                                       route.milliseconds, route.http_status));
    } else {
      step.lines.push_back(fmt::format("{}: failed after {} ms: {}", route.route, route.milliseconds, route.error));
    }
  }
  const RouteProbe* taken = probes.route_taken();
  step.details["route_taken"] = taken ? nlohmann::json(taken->route) : nlohmann::json(nullptr);
  if (taken) step.lines.push_back("the agent's route: " + taken->route);
  if (!taken) {
    // The fix of the route the agent tries first says where to start.
    const RouteProbe* first = nullptr;
    for (const RouteProbe& route : probes.routes) {
      if (route.in_plan && (!first || (route.proxy && !first->proxy))) first = &route;
    }
    std::string errors;
    for (const RouteProbe& route : probes.routes) {
      if (route.in_plan) errors += (errors.empty() ? "" : "; ") + route.route + ": " + route.error;
    }
    step.add(Severity::kCritical, "platform-unreachable",
             "the platform " + probes.server + " cannot be reached on any route the agent uses (" + errors + ")",
             first ? fix_for(*first, probes.server) : "configure a route to the platform (docs/proxy.md)");
    return step;
  }
  for (const RouteProbe& route : probes.routes) {
    if (route.reached) continue;
    if (route.proxy) {
      step.add(Severity::kWarning, "proxy-unreachable",
               "the proxy route " + route.route + " does not reach the platform: " + route.error +
                   " (the agent gets through " + taken->route + ")",
               fix_for(route, probes.server));
    } else {
      step.add(Severity::kInfo, "direct-unreachable",
               "a direct connection does not reach the platform (" + route.error + "); the agent gets through " +
                   taken->route,
               route.in_plan ? fix_for(route, probes.server)
                             : "nothing to do while the proxy works (direct fallback is off)");
    }
  }
  return step;
}

}  // namespace vigil::health
