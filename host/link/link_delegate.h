// What the link asks of the rest of the agent. Called on the link's thread;
// implementations hop to the agent's thread and wait (or give up at stop).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vigil/agent/v1/agent.pb.h"
#include "vigil/result/result.h"

namespace vigil {

namespace v1 = ::vigil::agent::v1;

class LinkDelegate {
 public:
  virtual ~LinkDelegate() = default;
  virtual std::vector<v1::ModuleStatus> module_statuses() = 0;
  // The agent's health for the check-in (docs/health.md, "Health at check-in"); nullopt: none to send.
  virtual std::optional<v1::HealthDigest> health_digest() { return std::nullopt; }
  // Settings the agent does not use as stored, each "KEY=VALUE: why".
  virtual std::vector<std::string> ignored_settings() { return {}; }
  // Activation and profile are in the store now; `manifests_changed` lists
  // the modules whose manifests were replaced.
  virtual void desired_state_applied(const std::vector<std::string>& manifests_changed) = 0;
  virtual Result<std::string> scan_now(const std::string& module, int cpu_throttle) = 0;
  virtual void uninstall_requested() = 0;
  // The link can deliver again (provisioned, or the platform came back).
  virtual void uploads_possible() = 0;
  // A verified new version of `module`'s plugin waits in a slot.
  virtual void plugin_staged(const std::string& module) = 0;
};

}  // namespace vigil
