// The agent's durable state in one SQLite database (WAL): configuration, the
// key hive, manifests, scan snapshots and per-plugin state. The schema is
// versioned (PRAGMA user_version) and migrated forward on open.
// Thread-safe: every call takes the store's mutex.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
  std::string manifest_type;  // the manifest types scanned, comma-separated
  int64_t started_at = 0;     // unix seconds
  int64_t finished_at = 0;    // unix seconds
  int64_t row_count = 0;
  std::string state;  // "pending" (its delta awaits acknowledgement) or "acknowledged"
};

struct OutboxEntry {
  int64_t sequence = 0;  // per agent, strictly increasing, never reused
  std::string module;
  std::string kind;         // "delta" or "events"
  int64_t snapshot_id = 0;  // the pending snapshot this delta leads to
  int64_t created_at = 0;
  std::string payload;
};

struct OutboxStats {
  int64_t depth = 0;
  int64_t bytes = 0;
  int64_t dropped = 0;  // entries dropped to respect the bound, ever
  int64_t last_sequence = 0;
};

struct CommitResult {
  int64_t snapshot_id = 0;
  std::optional<int64_t> sequence;  // set when a delta entered the outbox
  int64_t dropped = 0;              // outbox entries dropped by this commit to respect the bound
};

// Key hive layout: ScanOnDemand/<KeyName>/{CpuLimit,ScanOnDemand,ScanOnStartup}.
inline constexpr const char* kHiveRoot = "ScanOnDemand";

struct HiveValue {
  std::string path;
  std::string name;
  std::string value;
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
  // Sets every value with a string and deletes every key mapped to nullopt, in
  // one transaction: all of it happens or none of it.
  Status update_config(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);

  // Forgets what was uploaded: snapshots, the outbox and when modules last
  // scanned (after the agent took a new identity, each module scans at once
  // and uploads everything). Returns the number of outbox entries dropped.
  Result<int64_t> reset_uploaded_state();

  Result<std::optional<std::string>> plugin_state(std::string_view module, std::string_view key);
  Status set_plugin_state(std::string_view module, std::string_view key, std::string_view value);
  // True when a value was deleted.
  Result<bool> delete_plugin_state(std::string_view module, std::string_view key);

  Status put_manifest(const Manifest& manifest);
  Result<std::optional<Manifest>> manifest(std::string_view module, std::string_view manifest_type);
  // Every manifest stored for `module`, ordered by type.
  Result<std::vector<Manifest>> manifests(std::string_view module);

  // Builds an outbox payload from the module's acknowledged base rows (sorted;
  // empty without a base) and the sequence number the entry will carry.
  // Returns nullopt when the scan changed nothing.
  using PayloadBuilder =
      std::function<std::optional<std::string>(const std::vector<SnapshotRow>& base, int64_t sequence)>;

  // Records a completed scan in one transaction: with a payload, a "pending"
  // snapshot and its outbox entry; without one (nothing changed), only the
  // base snapshot's times move. `rows` must be sorted by (table, key).
  // Enforces the outbox bound, dropping the oldest entries (counted).
  Result<CommitResult> commit_snapshot(const SnapshotInfo& info, const std::vector<SnapshotRow>& rows,
                                       const PayloadBuilder& build_payload);
  // Appends an entry with no snapshot behind it (a batch of real-time events),
  // built from the sequence number it will carry. Enforces the outbox bound.
  Result<CommitResult> append_outbox(std::string_view module, std::string_view kind,
                                     const std::function<std::string(int64_t sequence)>& build_payload);
  Result<std::optional<SnapshotInfo>> latest_snapshot(std::string_view module);
  // Rows of snapshot `id`, ordered by table then key; only `table` when given.
  Result<std::vector<SnapshotRow>> snapshot_rows(int64_t id, const std::optional<std::string>& table);

  // The outbox, oldest first. acknowledge() makes the entry's snapshot the
  // module's acknowledged base; acknowledging an unknown sequence is a no-op
  // returning false (uploads are idempotent).
  Result<std::optional<OutboxEntry>> oldest_outbox_entry();
  Result<bool> acknowledge(int64_t sequence);
  Result<bool> has_pending_delta(std::string_view module);
  Result<OutboxStats> outbox_stats();
  void set_outbox_limits(int64_t max_entries, int64_t max_bytes);

  // The key hive: values under paths like "ScanOnDemand/Inventory".
  Result<std::optional<std::string>> hive_get(std::string_view path, std::string_view name);
  Status hive_set(std::string_view path, std::string_view name, std::string_view value);
  // Sets the value only when it does not exist yet; true when it was created.
  Result<bool> hive_create(std::string_view path, std::string_view name, std::string_view value);
  // Every value whose path starts with `path_prefix`, ordered by path and name.
  Result<std::vector<HiveValue>> hive_list(std::string_view path_prefix);
  // Deletes every value of `path`; returns how many.
  Result<int64_t> hive_delete(std::string_view path);
  // Changes whenever another connection (another process) commits.
  Result<int64_t> data_version();

  // Crashes of the agent while a module's code ran; the registry quarantines
  // a module past a bound. record returns the module's new count.
  Result<int64_t> record_plugin_crash(std::string_view module, std::string_view reason, int64_t when);
  Result<int64_t> plugin_crashes(std::string_view module);
  Result<bool> forget_plugin_crashes(std::string_view module);

  // When the module's last scan completed (unix seconds), for its interval.
  Result<std::optional<int64_t>> last_scan_completed(std::string_view module);
  Status set_last_scan_completed(std::string_view module, int64_t when);

 private:
  explicit StateStore(const std::filesystem::path& path);
  void migrate();

  int64_t counter(const char* name);
  void add_to_counter(const char* name, int64_t amount);
  int64_t enforce_outbox_bound();
  void remove_outbox_entry(int64_t sequence);

  std::mutex mutex_;
  sqlite::Database db_;
  int64_t outbox_max_entries_ = 10000;
  int64_t outbox_max_bytes_ = 256LL * 1024 * 1024;
};

}  // namespace vigil
