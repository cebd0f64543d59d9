#include "link/link_settings.h"

#include "settings/reader.h"

#include <algorithm>
#include <chrono>

namespace vigil {

namespace keys = link_keys;

LinkSettings read_link_settings(ConfigTable& config, const Paths& paths) {
  auto text = [&](const char* key) {
    auto value = config.get(key);
    return value.ok() && value.value() ? *value.value() : std::string();
  };
  auto number = [&](const char* key, int64_t fallback, int64_t min, int64_t max) {
    try {
      std::string value = text(key);
      int64_t parsed = value.empty() ? fallback : std::stoll(value);
      return std::clamp(parsed, min, max);
    } catch (const std::exception&) {
      return fallback;
    }
  };
  LinkSettings settings;
  settings.server_uri = text(keys::kServerUri);
  settings.customer_id = text(keys::kCustomerId);
  settings.activation_id = text(keys::kActivationId);
  settings.golden_image = text(keys::kGoldenImage) == "true" || text(keys::kGoldenImage) == "1";
  settings.golden_fingerprint = text(keys::kGoldenImageFingerprint);
  settings.host_id_search_dir = text(keys::kHostIdSearchDir);
  std::string bundle = text(keys::kCaBundle);
  if (!bundle.empty()) {
    settings.ca_bundle = std::filesystem::path(bundle);
  } else if (std::filesystem::exists(paths.config_dir / "ca-bundle.crt")) {
    settings.ca_bundle = paths.config_dir / "ca-bundle.crt";
  }
  settings.agent_id = text(keys::kAgentId);
  settings.agent_token = text(keys::kAgentToken);
  settings.reprovision_reason = text(keys::kReprovisionReason);
  settings.provisioned_for = text("ProvisionedFor");
  settings.fingerprint = text("HostFingerprint");
  settings.state_version = text("StateVersion");
  settings.nonce = text("ProvisionNonce");
  // Ranges and defaults from the settings registry; a value outside them is its default.
  settings::Reader registry(config);
  settings.checkin_seconds = registry.integer(keys::kCheckinInterval);
  settings.backoff_max_seconds = registry.integer("LinkBackoffMaxSeconds");
  settings.update_check_seconds = registry.integer("UpdateCheckInterval");
  settings.expiry_warning_days = registry.integer("UpdateExpiryWarningDays");
  settings.last_command = static_cast<uint64_t>(number("LastCommandId", 0, 0, INT64_MAX));
  return settings;
}

namespace link {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void log_unsaved(LogManager& logs, const Status& saved) {
  if (!saved.ok()) logs.daemon()->error("platform link: state not saved: {}", saved.error());
}

}  // namespace link
}  // namespace vigil
