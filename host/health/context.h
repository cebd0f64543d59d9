// What every step of the health check reads, gathered once: the paths, the
// store (read-only), the daemon's answers when it runs, the probes of the
// platform, and the time.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/paths.h"
#include "health/probes.h"
#include "health/read_only_store.h"
#include "store/state_store.h"

namespace vigil::health {

// The parts of a state store the steps read: vigilctl's read-only store, or
// the running agent's own (the digest it sends at check-in).
class StoreView {
 public:
  explicit StoreView(ReadOnlyStore& store)
      : config_(store.config()),
        snapshots_(store.snapshots()),
        outbox_(store.outbox()),
        crashes_(store.crashes()),
        update_metadata_(store.update_metadata()),
        manifests_(store.manifests()) {}
  explicit StoreView(StateStore& store)
      : config_(store.config()),
        snapshots_(store.snapshots()),
        outbox_(store.outbox()),
        crashes_(store.plugin_crashes()),
        update_metadata_(store.update_metadata()),
        manifests_(store.manifests()) {}

  ConfigTable& config() const { return config_; }
  Snapshots& snapshots() const { return snapshots_; }
  Outbox& outbox() const { return outbox_; }
  PluginCrashes& crashes() const { return crashes_; }
  UpdateMetadata& update_metadata() const { return update_metadata_; }
  Manifests& manifests() const { return manifests_; }

 private:
  ConfigTable& config_;
  Snapshots& snapshots_;
  Outbox& outbox_;
  PluginCrashes& crashes_;
  UpdateMetadata& update_metadata_;
  Manifests& manifests_;
};

struct Context {
  Paths paths;
  std::chrono::milliseconds timeout{3000};  // each network step, each daemon request
  int64_t now = 0;                          // unix seconds
  std::filesystem::path program_dir;        // where vigilctl runs from (finds vigild beside it)

  std::unique_ptr<ReadOnlyStore> read_only;  // vigilctl's connection, which `store` views
  std::optional<StoreView> store;            // none: no store, or unreadable (store_error says why)
  std::string store_error;
  bool lock_held = false;            // a vigild process holds the instance lock
  nlohmann::json status = nullptr;   // the daemon's status report; null when it did not answer
  nlohmann::json plugins = nullptr;  // the daemon's plugin list; null when it did not answer
  std::string daemon_error;          // why the daemon did not answer
  PlatformProbes probes;             // connectivity, run while the local steps run

  bool daemon_answered() const { return status.is_object(); }
  // A config value from the store; nullopt when unset or there is no store.
  std::optional<std::string> config(const std::string& key) const;
  // The CA bundle the agent trusts: CaBundle, else <config>/ca-bundle.crt; nullopt: the system's store.
  std::optional<std::filesystem::path> ca_bundle() const;
};

// "2026-12-02T09:40:00Z"
std::string utc_time(int64_t unix_seconds);
// "62.7 GiB", "512.0 MiB", "900 bytes": a size for people.
std::string size_text(int64_t bytes);
// "3 d 4 h", "12 min", "40 s": an age or a duration for people.
std::string duration_text(int64_t seconds);

}  // namespace vigil::health
