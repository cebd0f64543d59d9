// Self-protection keys, checked against the store's identity and trusted root.
#include "link/protection_key.h"

#include "link/link_settings.h"
#include "settings/registry.h"
#include "store/config_table.h"
#include "store/update_metadata.h"
#include "vigil/tuf/protection_key.h"

namespace vigil::link {

Status check_protection_key(StateStore& store, std::string_view key, int64_t now) {
  auto refused = [](const std::string& why) { return Error{"self-protection key refused: " + why}; };
  Result<std::optional<std::string>> agent_id = store.config().get(link_keys::kAgentId);
  if (!agent_id || !agent_id.value() || agent_id.value()->empty()) {
    return refused("this agent has no agent id yet (it was never provisioned), so no key can be for it");
  }
  Result<std::optional<std::string>> root_bytes = store.update_metadata().load(tuf::role_name(tuf::Role::kRoot));
  if (!root_bytes || !root_bytes.value()) return refused("this agent trusts no platform root (provision it again)");
  Result<tuf::Signed<tuf::Root>> root = tuf::parse_root(**root_bytes);
  if (!root) return refused("the trusted platform root cannot be read: " + root.error());
  Result<tuf::ProtectionKey> checked = tuf::check_protection_key(key, root->body, **agent_id, now);
  if (!checked) return refused(checked.error());
  return {};
}

bool self_protection_on(StateStore& store) {
  Result<std::optional<std::string>> value = store.config().get("SelfProtection");
  if (!value) return true;
  if (!value.value()) return false;
  Result<bool> on = settings::boolean_value(*value.value());
  return !on || on.value();
}

}  // namespace vigil::link
