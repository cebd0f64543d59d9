// Scan snapshots in the state store: a scan's rows streamed into a staging
// snapshot, its commit with the delta against the module's acknowledged base
// (written to the outbox in the same transaction), the snapshots readers see,
// and when each module's last scan completed. A part of StateStore
// (state_store.h): store.snapshots().
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}
class Outbox;

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

class Snapshots {
 public:
  Snapshots(std::mutex& mutex, sqlite::Database& db, Outbox& outbox) : mutex_(mutex), db_(db), outbox_(outbox) {}
  Snapshots(const Snapshots&) = delete;
  Snapshots& operator=(const Snapshots&) = delete;

  // A scan's rows go to the store as the scan emits them, in bounded batches
  // (snapshot_writer.h), into a "staging" snapshot that no reader sees;
  // commit completes it. Staging snapshots left by a crash are dropped when
  // the daemon starts.
  Result<int64_t> begin(std::string_view module, int64_t started_at);
  // Adds a batch of rows in one transaction. A (table, key) the snapshot
  // already has is an error naming it, and nothing of the batch is kept.
  Status add_rows(int64_t snapshot_id, const std::vector<SnapshotRow>& rows);
  // Drops a staging snapshot and its rows (a failed or cancelled scan).
  Status discard(int64_t snapshot_id);
  // Drops every staging snapshot: those a crash left behind. Only the daemon,
  // at start, calls it (vigilctl opens the store while scans run).
  Result<int64_t> drop_staging();

  // Completes staging snapshot `info.id`: merges its rows with the module's
  // acknowledged base (two sorted cursors, constant memory), hands every
  // difference to `encoder` and writes the payloads it returns to the outbox,
  // one entry (and sequence) each, all in one transaction. With no difference
  // the staging snapshot is dropped and only the base's times move. Enforces
  // the outbox bound, dropping the oldest entries (counted) but never this
  // snapshot's.
  Result<CommitResult> commit(const SnapshotInfo& info, DeltaEncoder& encoder);
  // The newest snapshot a reader may see (pending or acknowledged).
  Result<std::optional<SnapshotInfo>> latest(std::string_view module);
  // Rows of snapshot `id`, ordered by table then key; only `table` when
  // given; at most `limit` of them after skipping `offset` (-1: all).
  Result<std::vector<SnapshotRow>> rows(int64_t id, const std::optional<std::string>& table, int64_t limit = -1,
                                        int64_t offset = 0);

  // When the module's last scan completed (unix seconds), for its interval.
  Result<std::optional<int64_t>> last_scan_completed(std::string_view module);
  // The table names of snapshot `id`, sorted: one index probe per table, however many rows.
  Result<std::vector<std::string>> tables(int64_t id);
  Status set_last_scan_completed(std::string_view module, int64_t when);

 private:
  Result<CommitResult> commit_with_delta(const SnapshotInfo& info, DeltaEncoder& encoder);

  std::mutex& mutex_;
  sqlite::Database& db_;
  Outbox& outbox_;
};

}  // namespace vigil
