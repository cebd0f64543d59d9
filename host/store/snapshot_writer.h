// Streams a scan's rows into its staging snapshot in bounded batches, so a
// scan holds at most one batch in memory however many rows it emits.
// Single-threaded: a scan's rows come from its scan thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "store/snapshots.h"

namespace vigil {

class SnapshotWriter {
 public:
  static constexpr size_t kBatchRows = 2048;
  static constexpr size_t kBatchBytes = size_t{1} << 20;

  SnapshotWriter(Snapshots& snapshots, int64_t snapshot_id) : snapshots_(snapshots), snapshot_id_(snapshot_id) {}

  // Writes the batch when it is full. An error names what went wrong and
  // fails the scan: a key already in the batch is refused at once, one in an
  // earlier batch when this batch is written.
  Status add(SnapshotRow row);
  // Writes what is left. After a failed write every call fails the same
  // way: a snapshot missing a batch must never be committed.
  Status flush();

  int64_t snapshot_id() const { return snapshot_id_; }
  int64_t rows() const { return rows_; }

 private:
  Snapshots& snapshots_;
  int64_t snapshot_id_;
  std::vector<SnapshotRow> batch_;
  std::unordered_set<std::string> batch_ids_;  // table '\n' key
  size_t batch_bytes_ = 0;
  int64_t rows_ = 0;
  std::string failure_;
};

}  // namespace vigil
