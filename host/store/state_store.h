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

#include "vigil/result/result.h"
#include "vigil/sqlite/sqlite.h"

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
  std::string payload;     // a serialised DeltaChunk or EventBatch (proto/)
  bool last_chunk = true;  // a delta's last chunk completes its snapshot
  int64_t attempts = 0;    // failed deliveries so far
};

struct SetAsideEntry {
  int64_t sequence = 0;
  std::string module;
  std::string kind;
  int64_t bytes = 0;
  int64_t attempts = 0;
  int64_t set_aside_at = 0;
  std::string reason;
};

struct OutboxStats {
  int64_t depth = 0;
  int64_t bytes = 0;
  int64_t dropped = 0;    // entries dropped to respect the bound, ever
  int64_t set_aside = 0;  // entries the receiver refused for good, ever
  int64_t last_sequence = 0;
};

struct CommitResult {
  int64_t snapshot_id = 0;
  std::optional<int64_t> sequence;  // the last outbox entry this commit wrote
  int64_t chunks = 0;               // outbox entries this commit wrote
  int64_t added = 0;
  int64_t removed = 0;
  int64_t changed = 0;
  int64_t dropped = 0;  // outbox entries dropped by this commit to respect the bound
};

enum class ChangeKind { kAdded, kRemoved, kChanged };

// One difference between two snapshots. `row` is the new row (added,
// changed) or the old one (removed); `old_values` is set for changed rows.
struct RowDifference {
  ChangeKind kind;
  const SnapshotRow& row;
  const std::string* old_values = nullptr;
};

// Turns the differences of a commit into outbox payloads, a bounded chunk at
// a time (delta/ implements it; the store knows no wire format).
class DeltaEncoder {
 public:
  virtual ~DeltaEncoder() = default;
  // Returns a complete chunk's payload when adding `change` filled one.
  virtual std::optional<std::string> add(const RowDifference& change) = 0;
  // The last chunk, marked as such; nullopt when nothing was added.
  virtual std::optional<std::string> finish() = 0;
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

  // The settings each module declared (settings/declarations.h encodes
  // them), kept so that vigilctl validates module keys while vigild is down.
  Result<std::vector<std::pair<std::string, std::string>>> module_settings();
  // Replaces the module's declarations; nullopt forgets them.
  Status set_module_settings(std::string_view module, const std::optional<std::string>& declarations);

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

  // A scan's rows go to the store as the scan emits them, in bounded batches,
  // into a "staging" snapshot that no reader sees; commit_snapshot completes
  // it. Staging snapshots left by a crash are dropped when the store opens.
  Result<int64_t> begin_snapshot(std::string_view module, int64_t started_at);
  // Adds a batch of rows in one transaction. A (table, key) the snapshot
  // already has is an error naming it, and nothing of the batch is kept.
  Status add_snapshot_rows(int64_t snapshot_id, const std::vector<SnapshotRow>& rows);
  // Drops a staging snapshot and its rows (a failed or cancelled scan).
  Status discard_snapshot(int64_t snapshot_id);
  // Drops every staging snapshot: those a crash left behind. Only the daemon,
  // at start, calls it (vigilctl opens the store while scans run).
  Result<int64_t> drop_staging_snapshots();

  // Completes staging snapshot `info.id`: merges its rows with the module's
  // acknowledged base (two sorted cursors, constant memory), hands every
  // difference to `encoder` and writes the payloads it returns to the outbox,
  // one entry (and sequence) each, all in one transaction. With no difference
  // the staging snapshot is dropped and only the base's times move. Enforces
  // the outbox bound, dropping the oldest entries (counted) but never this
  // snapshot's.
  Result<CommitResult> commit_snapshot(const SnapshotInfo& info, DeltaEncoder& encoder);
  // Appends an entry with no snapshot behind it (a batch of real-time events).
  // Enforces the outbox bound.
  Result<CommitResult> append_outbox(std::string_view module, std::string_view kind, std::string_view payload);
  // The newest snapshot a reader may see (pending or acknowledged).
  Result<std::optional<SnapshotInfo>> latest_snapshot(std::string_view module);
  // Rows of snapshot `id`, ordered by table then key; only `table` when
  // given; at most `limit` of them after skipping `offset` (-1: all).
  Result<std::vector<SnapshotRow>> snapshot_rows(int64_t id, const std::optional<std::string>& table,
                                                 int64_t limit = -1, int64_t offset = 0);

  // The outbox. Each module's entries are delivered in sequence order;
  // modules are independent of each other. acknowledge() of a delta's last
  // chunk makes its snapshot the module's acknowledged base; acknowledging an
  // unknown sequence is a no-op returning false (uploads are idempotent).
  Result<std::optional<OutboxEntry>> oldest_outbox_entry();
  Result<std::optional<OutboxEntry>> oldest_outbox_entry(std::string_view module);
  // Modules with entries in the outbox, by name.
  Result<std::vector<std::string>> outbox_modules();
  Result<bool> acknowledge(int64_t sequence);
  // Counts a failed delivery of `sequence`; returns its attempts so far.
  Result<int64_t> record_upload_attempt(int64_t sequence);
  // Moves an entry the receiver refuses for good out of the outbox, with its
  // reason. For a delta chunk, the rest of its snapshot's chunks and the
  // pending snapshot go too: the module's next delta, taken against the
  // acknowledged base, carries those changes again. Returns the entries moved.
  Result<int64_t> set_aside(int64_t sequence, std::string_view reason);
  Result<std::vector<SetAsideEntry>> set_aside_entries(int64_t limit);
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
  int64_t enforce_outbox_bound(int64_t keep_snapshot);
  void prune_acknowledged_before(std::string_view module, int64_t keep);
  Result<CommitResult> commit_with_delta(const SnapshotInfo& info, DeltaEncoder& encoder);
  void remove_outbox_entry(int64_t sequence);
  int64_t insert_outbox_entry(std::string_view module, std::string_view kind, int64_t snapshot_id, bool last_chunk,
                              std::string_view payload);

  std::mutex mutex_;
  sqlite::Database db_;
  // Unbounded until the agent sets the bounds of its settings (OutboxMaxEntries, OutboxMaxBytes).
  int64_t outbox_max_entries_ = INT64_MAX;
  int64_t outbox_max_bytes_ = INT64_MAX;
};

}  // namespace vigil
