// The agent's state store opened read-only: the parts the health check reads
// (config, snapshots, outbox, crashes, update metadata, manifests) on a connection that cannot write, so
// that checking an agent, running or not, never changes it.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "store/config_table.h"
#include "store/manifests.h"
#include "store/outbox.h"
#include "store/plugin_crashes.h"
#include "store/snapshots.h"
#include "store/update_metadata.h"
#include "vigil/result/result.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil::health {

class ReadOnlyStore {
 public:
  // Fails when there is no database at `path`, it cannot be read, or its
  // schema is not the one this build reads.
  static Result<std::unique_ptr<ReadOnlyStore>> open(const std::filesystem::path& path);

  ConfigTable& config() { return config_; }
  Snapshots& snapshots() { return snapshots_; }
  Outbox& outbox() { return outbox_; }
  PluginCrashes& crashes() { return crashes_; }
  UpdateMetadata& update_metadata() { return update_metadata_; }
  Manifests& manifests() { return manifests_; }

 private:
  explicit ReadOnlyStore(const std::filesystem::path& path);

  std::mutex mutex_;
  sqlite::Database db_;
  ConfigTable config_{mutex_, db_};
  Outbox outbox_{mutex_, db_};
  Snapshots snapshots_{mutex_, db_, outbox_};
  PluginCrashes crashes_{mutex_, db_};
  UpdateMetadata update_metadata_{mutex_, db_};
  Manifests manifests_{mutex_, db_};
};

}  // namespace vigil::health
