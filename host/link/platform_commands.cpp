#include "link/platform_commands.h"

#include <algorithm>

#include "link/link_settings.h"
#include "store/config_table.h"
#include "version.h"

namespace vigil {

void PlatformCommands::carry_out(const v1::Command& command) {
  switch (command.kind_case()) {
    case v1::Command::kScanNow: scan_now(command.id(), command.scan_now()); break;
    case v1::Command::kReprovision: reprovision(command.id(), command.reprovision()); break;
    case v1::Command::kRotateToken: rotate_token(command.id(), command.rotate_token()); break;
    case v1::Command::kUninstall: uninstall(command.id()); break;
    default:
      logs_.daemon()->warn("platform command {} of a kind this agent does not know; refused", command.id());
      outcomes_.add(command.id(), "refused",
                    "a kind of command this agent (vigild " + std::string(kVigilVersion) + ") does not know");
  }
}

void PlatformCommands::scan_now(uint64_t id, const v1::ScanNow& scan) {
  auto control_id = delegate_.scan_now(scan.module(), static_cast<int>(scan.cpu_throttle()));
  if (control_id.ok()) {
    logs_.daemon()->info("platform command {}: on-demand scan of '{}' queued, ControlId {}", id, scan.module(),
                         control_id.value());
    outcomes_.add(id, "queued", "", control_id.value());
    outcomes_.watch_scan(id, control_id.value());
  } else {
    logs_.daemon()->warn("platform command {}: on-demand scan of '{}' refused: {}", id, scan.module(),
                         control_id.error());
    outcomes_.add(id, "refused", control_id.error());
  }
}

void PlatformCommands::reprovision(uint64_t id, const v1::Reprovision& reprovision) {
  logs_.daemon()->warn("platform command {}: re-provision ({})", id, reprovision.reason());
  // The link provisions again at its next round.
  link::log_unsaved(logs_, store_.config().set(link_keys::kReprovisionReason,
                                               reprovision.reason().empty() ? "requested" : reprovision.reason()));
  outcomes_.add(id, "done", "the agent provisions again");
}

void PlatformCommands::rotate_token(uint64_t id, const v1::RotateToken& rotation) {
  const std::string& token = rotation.agent_token();
  bool printable = std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 127; });
  if (token.empty() || token.size() > 256 || !printable) {
    logs_.daemon()->warn(
        "platform command {}: token rotation refused: the new token is empty, too long or not printable", id);
    outcomes_.add(id, "refused", "the new token is empty, too long or not printable");
    return;
  }
  // Never logged: the old token stops working once the platform sees this one.
  link::log_unsaved(logs_, store_.config().set(link_keys::kAgentToken, token));
  logs_.daemon()->info("platform command {}: agent token rotated", id);
  outcomes_.add(id, "done");
}

void PlatformCommands::uninstall(uint64_t id) {
  logs_.daemon()->warn("platform command {}: uninstall", id);
  outcomes_.add(id, "done", "the agent uninstalls itself");
  delegate_.uninstall_requested();
}

}  // namespace vigil
