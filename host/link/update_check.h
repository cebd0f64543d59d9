// Checks the platform's signed update metadata (TUF; docs/design/self-patch.md)
// on the link's thread: the root pinned at provisioning, then the chain of
// roots, timestamp, snapshot and targets, each verified before it is stored
// (store/update_metadata.h). A failed check changes nothing that runs: the
// agent keeps its plugins, and status says what failed and how long the
// trusted metadata stays valid.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "base/paths.h"
#include "link/link_delegate.h"
#include "link/link_settings.h"
#include "link/platform_connection.h"
#include "log/log_manager.h"
#include "store/state_store.h"
#include "vigil/result/result.h"
#include "vigil/tuf/metadata.h"

namespace vigil {

class UpdateCheck {
 public:
  UpdateCheck(Paths paths, StateStore& store, LogManager& logs, PlatformConnection& connection, LinkDelegate& delegate)
      : paths_(std::move(paths)), store_(store), logs_(logs), connection_(connection), delegate_(delegate) {}

  // Pins the root a provisioning reply carried: when none is pinned, or, with
  // `replace` (a new platform), in place of everything trusted so far. A root
  // that does not verify itself is not pinned.
  Status pin_root(const std::string& root, bool replace);

  // Checks when the platform announces a timestamp version other than the
  // trusted one (`announced`, from the check-in reply) or the last check is
  // older than UpdateCheckInterval.
  void after_checkin(const LinkSettings& settings, uint64_t announced);
  // One update check now; after it, the current plugin file of each module
  // this agent runs, when it is another version, is downloaded into the
  // module's inactive slot (staged; loading it is the swap's job).
  Status run(const LinkSettings& settings);

  // Versions, expiry, the last check and its outcome, and the plugin slots
  // (for vigilctl status).
  nlohmann::json status(const LinkSettings& settings);

 private:
  // `metadata_bytes`: what the check fetched, counted with the download it leads to.
  void stage_updates(const LinkSettings& settings, const tuf::Targets& targets, int64_t metadata_bytes);
  // Deletes partial downloads of files the trusted targets no longer list:
  // they can never be resumed (a download's own start removes the others of its slot).
  void sweep_stray_partials(const tuf::Targets& targets);
  // module -> the version its PluginPin names.
  std::map<std::string, std::string> plugin_pins();

  Paths paths_;
  StateStore& store_;
  LogManager& logs_;
  PlatformConnection& connection_;
  LinkDelegate& delegate_;

  std::mutex mutex_;  // guards what follows: status() runs on other threads
  int64_t last_check_ = 0;
  std::string last_error_;
  std::string last_refusal_;  // signature, rollback, freeze, …
  int64_t failing_since_ = 0;
  std::map<std::string, std::string> staging_errors_;  // by module: why its new file is not staged
  std::map<std::string, std::string> passed_over_;     // "module version": why this agent does not take it
  std::set<std::string> downloads_to_retry_;           // modules whose download was cut short
  std::set<std::string> refused_files_;                // sha256 of files refused (not retried until a restart)
  std::map<std::string, std::string> checked_pins_;    // the pins the last check followed
};

}  // namespace vigil
