// Step 9, plugin update trust: the signed update metadata this agent trusts
// (docs/platform-link.md, "Signed plugin updates"): pinned or not, how long it
// stays valid, the last update check and the plugin downloads. From the
// running agent's status, or from the store when vigild is down.
#include <fmt/format.h>

#include <algorithm>

#include "health/steps.h"
#include "settings/reader.h"

namespace vigil::health {
namespace {

// The trusted versions and earliest expiry from the store (vigild is down).
nlohmann::json from_store(const Context& context) {
  nlohmann::json updates = {{"pinned", false}};
  if (!context.store) return updates;
  auto stored = context.store->update_metadata().summary();
  if (!stored.ok()) return updates;
  std::optional<int64_t> earliest;
  for (const StoredMetadata& role : stored.value()) {
    updates[role.role + "_version"] = role.version;
    if (role.role == "root") updates["pinned"] = true;
    earliest = std::min(earliest.value_or(role.expires), role.expires);
  }
  if (earliest) updates["expires"] = *earliest;
  return updates;
}

}  // namespace

Step check_plugin_update_trust(const Context& context) {
  Step step{.name = "plugin_update_trust", .title = "Plugin update trust"};
  if (!context.config("ServerUri")) {
    step.lines.push_back("no platform configured: plugins are updated only with the agent's package");
    step.skipped = true;
    return step;
  }
  const bool running = context.daemon_answered();
  nlohmann::json updates =
      running ? context.status.value("platform", nlohmann::json::object()).value("updates", nlohmann::json::object())
              : from_store(context);
  step.details = updates;
  if (!updates.value("pinned", false)) {
    step.lines.push_back("no update root pinned");
    step.add(Severity::kInfo, "update-root-not-pinned",
             "no update root is pinned: this agent takes no plugin updates from its platform",
             "on the platform run vigil-platform admin signing-keys init (platforms made before signed updates), "
             "then provision the agent again (vigilctl provision with its current settings)");
    return step;
  }
  if (running) step.lines.push_back(updates.value("state", "") + ": " + updates.value("summary", ""));
  if (updates.contains("expires")) {
    int64_t left = updates["expires"].get<int64_t>() - context.now;
    int64_t warn_days = 3;
    if (context.store) {
      settings::Reader reader(context.store->config());
      warn_days = reader.integer("UpdateExpiryWarningDays");
    }
    if (!running) {
      step.lines.push_back(fmt::format("root v{}, timestamp v{}: valid until {}", updates.value("root_version", 0),
                                       updates.value("timestamp_version", 0), utc_time(updates["expires"])));
    }
    if (left <= 0) {
      step.add(Severity::kWarning, "update-metadata-expired",
               "the signed update metadata expired " + duration_text(-left) +
                   " ago: no plugin updates until the platform signs again (installed plugins keep running)",
               "check that the platform runs and that its clock and this machine's are right; it signs new "
               "metadata when agents ask (vigil-platform admin signing-keys show)");
    } else if (left < warn_days * 86'400) {
      step.add(Severity::kWarning, "update-metadata-expiring",
               "the signed update metadata expires in " + duration_text(left),
               "check that this agent reaches the platform: it renews the metadata when agents ask");
    }
  }
  if (running && updates.value("state", "") == "refused") {
    step.add(Severity::kWarning, "update-metadata-refused",
             "the last update check refused the platform's metadata (" + updates.value("refusal", "") +
                 "): " + updates.value("last_error", ""),
             "the platform served metadata that does not verify: check its signing keys (vigil-platform admin "
             "signing-keys show) and that nothing between rewrites its replies; plugins stay as they are");
  }
  const nlohmann::json staging_errors = updates.value("staging_errors", nlohmann::json::object());
  for (const auto& [module, error] : staging_errors.items()) {
    step.add(Severity::kWarning, "plugin-download-failed",
             "the new plugin file of " + module + " is not staged: " + error.get<std::string>(),
             "a refused file is not fetched again: publish it again on the platform (admin package-set); a "
             "download cut short resumes at the next check-in");
  }
  return step;
}

}  // namespace vigil::health
