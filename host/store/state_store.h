// The agent's durable state in one SQLite database (WAL). StateStore owns the
// connection, its mutex and the schema (PRAGMA user_version, migrated forward
// on open); each concern is a part of it in its own header, which a client
// includes for the part it uses:
//   config_table.h    configuration and the modules' declared settings
//   key_hive.h        the key hive
//   manifests.h       the modules' manifests
//   plugin_state.h    per-module values a plugin keeps
//   plugin_crashes.h  crashes of the agent while a module's code ran
//   snapshots.h       scan snapshots, their commit with the delta, scan times
//   outbox.h          entries waiting for delivery, their acknowledgement
//   update_metadata.h trusted metadata of signed plugin updates
//   plugin_slots.h    where each module's plugin file comes from (updates)
// Thread-safe: every call of every part takes the store's mutex, so that one
// transaction may span parts (a snapshot's commit writes the outbox).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "vigil/result/result.h"

namespace vigil {

class ConfigTable;
class KeyHive;
class Manifests;
class Outbox;
class PluginCrashes;
class PluginSlots;
class PluginState;
class Snapshots;
class UpdateMetadata;

class StateStore {
 public:
  // Opens (creating if needed) and migrates the database at `path`.
  static Result<std::unique_ptr<StateStore>> open(const std::filesystem::path& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  static int latest_schema_version();
  int schema_version();
  // Changes whenever another connection (another process) commits.
  Result<int64_t> data_version();

  // Forgets what was uploaded: snapshots, the outbox and when modules last
  // scanned (after the agent took a new identity, each module scans at once
  // and uploads everything). Returns the number of outbox entries dropped.
  Result<int64_t> reset_uploaded_state();

  ConfigTable& config();
  KeyHive& hive();
  Manifests& manifests();
  PluginState& plugin_state();
  PluginCrashes& plugin_crashes();
  Snapshots& snapshots();
  Outbox& outbox();
  UpdateMetadata& update_metadata();
  PluginSlots& plugin_slots();

 private:
  struct Parts;
  explicit StateStore(const std::filesystem::path& path);
  void migrate();

  std::unique_ptr<Parts> parts_;
};

}  // namespace vigil
