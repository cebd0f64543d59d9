// The agent's durable state in one SQLite database (WAL): configuration, the
// key hive, manifests, scan snapshots and per-plugin state. The schema is
// versioned (PRAGMA user_version) and migrated forward on open.
// Thread-safe: every call takes the store's mutex.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/sqlite.h"

namespace vigil {

struct Manifest {
  std::string module;
  std::string manifest_type;
  std::string version;
  std::string body;
};

struct SnapshotRow {
  std::string table;
  std::string key;     // canonical JSON object of the key columns
  std::string values;  // JSON object of the value columns
};

struct SnapshotInfo {
  int64_t id = 0;
  std::string module;
  std::string manifest_type;
  int64_t started_at = 0;   // unix seconds
  int64_t finished_at = 0;  // unix seconds
  int64_t row_count = 0;
};

class StateStore {
 public:
  // Opens (creating if needed) and migrates the database at `path`.
  static Result<std::unique_ptr<StateStore>> open(const std::filesystem::path& path);

  static int latest_schema_version();
  int schema_version();

  Result<std::optional<std::string>> config(std::string_view key);
  Status set_config(std::string_view key, std::string_view value);
  Result<std::vector<std::pair<std::string, std::string>>> all_config();

  Result<std::optional<std::string>> plugin_state(std::string_view module, std::string_view key);
  Status set_plugin_state(std::string_view module, std::string_view key, std::string_view value);
  // True when a value was deleted.
  Result<bool> delete_plugin_state(std::string_view module, std::string_view key);

  Status put_manifest(const Manifest& manifest);
  Result<std::optional<Manifest>> manifest(std::string_view module, std::string_view manifest_type);

  // Writes a complete snapshot in one transaction and keeps only the newest
  // kSnapshotsKept per module. Returns the new snapshot id.
  Result<int64_t> write_snapshot(const SnapshotInfo& info, const std::vector<SnapshotRow>& rows);
  Result<std::optional<SnapshotInfo>> latest_snapshot(std::string_view module);
  // Rows of snapshot `id`, ordered by table then key; only `table` when given.
  Result<std::vector<SnapshotRow>> snapshot_rows(int64_t id, const std::optional<std::string>& table);

  static constexpr int kSnapshotsKept = 2;

 private:
  explicit StateStore(const std::filesystem::path& path);
  void migrate();

  std::mutex mutex_;
  sqlite::Database db_;
};

}  // namespace vigil
