// The link's configuration: the config keys it reads (set by vigilctl
// provision) and writes (keys in docs/platform-link.md), read fresh on every
// round so that a crash at any step resumes where it was.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/paths.h"
#include "log/log_manager.h"
#include "store/config_table.h"
#include "vigil/result/result.h"

namespace vigil {

// Config keys the link reads (set by vigilctl provision) and writes.
namespace link_keys {
inline constexpr const char* kServerUri = "ServerUri";
inline constexpr const char* kCustomerId = "CustomerId";
inline constexpr const char* kActivationId = "ActivationId";
inline constexpr const char* kGoldenImage = "GoldenImage";
inline constexpr const char* kGoldenImageFingerprint = "GoldenImageFingerprint";
inline constexpr const char* kHostIdSearchDir = "HostIdSearchDir";
inline constexpr const char* kCaBundle = "CaBundle";
inline constexpr const char* kAgentId = "AgentId";
inline constexpr const char* kAgentToken = "AgentToken";
inline constexpr const char* kActivatedModules = "ActivatedModules";
inline constexpr const char* kCheckinInterval = "CheckinInterval";
inline constexpr const char* kReprovisionReason = "ReprovisionReason";
}  // namespace link_keys

struct LinkSettings {
  std::string server_uri;
  std::string customer_id;
  std::string activation_id;
  bool golden_image = false;
  std::string golden_fingerprint;
  std::string host_id_search_dir;
  std::optional<std::filesystem::path> ca_bundle;
  std::string agent_id;
  std::string agent_token;
  std::string reprovision_reason;
  std::string provisioned_for;  // server|customer|activation the identity was issued for
  std::string fingerprint;      // the machine's when the identity was issued
  std::string state_version;
  std::string nonce;
  int64_t checkin_seconds = 0;       // CheckinInterval (read_link_settings: the registry's default when unset)
  int64_t backoff_max_seconds = 0;   // LinkBackoffMaxSeconds
  int64_t update_check_seconds = 0;  // UpdateCheckInterval
  int64_t expiry_warning_days = 0;   // UpdateExpiryWarningDays
  uint64_t last_command = 0;

  bool configured() const { return !server_uri.empty(); }
  bool provisioned() const { return !agent_id.empty() && !agent_token.empty(); }
  std::string target() const { return server_uri + "|" + customer_id + "|" + activation_id; }
};

// Unset, unreadable and out-of-range numbers read as their defaults (clamped).
LinkSettings read_link_settings(ConfigTable& config, const Paths& paths);

namespace link {

int64_t unix_now();
// Logs a failed store write the link cannot do anything else about.
void log_unsaved(LogManager& logs, const Status& saved);

}  // namespace link
}  // namespace vigil
