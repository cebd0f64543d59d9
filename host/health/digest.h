// The health a running agent judges of itself at each check-in and sends
// the platform as a digest (docs/health.md, "Health at check-in"): the steps
// of vigilctl health that work from in-process facts, never the network.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "base/paths.h"
#include "health/context.h"
#include "health/report.h"

namespace vigil::health {

struct Digest {
  Overall overall = Overall::kGood;  // kGood, kPoor or kBad
  int findings = 0;                  // warnings and critical findings
  std::string top_code;              // the most severe finding (the first of its severity); empty when none
  std::string top_text;              // its description, at most kDigestTextBytes
  int64_t checked_at = 0;
};

inline constexpr size_t kDigestTextBytes = 200;

// Runs the in-process steps (processes, certificates of the CA bundle, proxy
// settings, the outbox part of communication, modules, plugin update trust,
// free disk) over the agent's own status report, plugin list and store.
Report check_running_agent(const Paths& paths, StoreView store, nlohmann::json status, nlohmann::json plugins);
Digest digest_of(const Report& report, int64_t now);

}  // namespace vigil::health
