// The health digest each check-in carries (docs/health.md, "Health at
// check-in"): the status report and plugin list are taken on the agent's
// thread, the steps run on the link's thread that asked.
#include <ctime>

#include "agent/agent.h"
#include "health/digest.h"

namespace vigil {

std::optional<v1::HealthDigest> Agent::health_digest() {
  nlohmann::json status, plugins;
  if (!on_agent_thread([&] {
        status = status_report();
        plugins = plugins_report();
      })) {
    return std::nullopt;
  }
  try {
    health::Report report =
        health::check_running_agent(options_.paths, health::StoreView(*store_), std::move(status), std::move(plugins));
    health::Digest digest = health::digest_of(report, static_cast<int64_t>(std::time(nullptr)));
    v1::HealthDigest message;
    message.set_overall(std::string(health::overall_name(digest.overall)));
    message.set_findings(static_cast<uint32_t>(digest.findings));
    message.set_top_code(digest.top_code);
    message.set_top_text(digest.top_text);
    message.set_checked_at(digest.checked_at);
    return message;
  } catch (const std::exception& error) {
    // The check-in goes without it: health is reported, never a reason not to check in.
    logs_->daemon()->warn("health digest not computed: {}", error.what());
    return std::nullopt;
  }
}

}  // namespace vigil
