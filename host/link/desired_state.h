// The desired state the platform sends (activated modules, manifests,
// profile) and how the agent applies it: manifests downloaded first, then
// profile and activation in one transaction, then the agent told.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "link/link_delegate.h"
#include "link/link_settings.h"
#include "link/platform_connection.h"
#include "log/log_manager.h"
#include "store/state_store.h"
#include "vigil/agent/v1/agent.pb.h"
#include "vigil/result/result.h"

namespace vigil {

using ConfigChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;
// The config changes that apply a desired state's profile and activation
// (StateStore::update_config form), given the current config. Module names
// that could not be modules are dropped.
ConfigChanges desired_state_config(const v1::DesiredState& state,
                                   const std::vector<std::pair<std::string, std::string>>& current);

// The agent runs every loaded module until a platform decides otherwise.
// nullopt: no platform decision (standalone agent).
std::optional<std::vector<std::string>> activated_modules(StateStore& store);

class DesiredStateApplier {
 public:
  // `root`: where this machine's os-release is read, for manifests chosen by release.
  DesiredStateApplier(StateStore& store, LogManager& logs, LinkDelegate& delegate, PlatformConnection& connection,
                      std::filesystem::path root)
      : store_(store), logs_(logs), delegate_(delegate), connection_(connection), root_(std::move(root)) {}

  // The state version moves only once everything is here: a failure leaves
  // it where it was, so the next check-in sends the state again.
  Status apply(const v1::DesiredState& state, const LinkSettings& settings);

 private:
  // Downloads the manifests whose version differs from the stored one;
  // returns the modules whose manifests were replaced.
  Result<std::vector<std::string>> fetch_manifests(const v1::DesiredState& state, const LinkSettings& settings);

  StateStore& store_;
  LogManager& logs_;
  LinkDelegate& delegate_;
  PlatformConnection& connection_;
  std::filesystem::path root_;
};

}  // namespace vigil
