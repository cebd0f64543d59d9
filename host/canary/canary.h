// vigilctl health --canary (docs/health.md, "Canary"): makes a change each
// module should see — a new file under a path the FIM manifest in force
// watches, a process, a loopback connection — and asks the platform until it
// holds the matching event, timing each leg. A leg no module watches is
// "not available", never a pass.
#pragma once

#include <chrono>

#include "health/context.h"
#include "health/report.h"

namespace vigil::canary {

struct CanaryOptions {
  std::chrono::milliseconds wait{30000};    // how long the platform may take to hold the event
  std::chrono::milliseconds timeout{3000};  // each request to the platform
};

// The canary as the health check's last step ("canary"): one line per leg,
// details.legs, and canary-failed (critical) naming the leg that failed.
health::Step check_canary(const health::Context& context, const CanaryOptions& options);

}  // namespace vigil::canary
