#include "store/snapshot_writer.h"

namespace vigil {

Status SnapshotWriter::add(SnapshotRow row) {
  if (!failure_.empty()) return Error{failure_};
  if (!batch_ids_.insert(row.table + '\n' + row.key).second) {
    return Error{"table '" + row.table + "': duplicate key " + row.key};
  }
  batch_bytes_ += row.table.size() + row.key.size() + row.values.size();
  batch_.push_back(std::move(row));
  ++rows_;
  if (batch_.size() >= kBatchRows || batch_bytes_ >= kBatchBytes) return flush();
  return Status::Ok();
}

Status SnapshotWriter::flush() {
  if (!failure_.empty()) return Error{failure_};
  if (batch_.empty()) return Status::Ok();
  Status written = snapshots_.add_rows(snapshot_id_, batch_);
  if (!written.ok()) failure_ = written.error();  // the batch is lost: so is the scan
  batch_.clear();
  batch_ids_.clear();
  batch_bytes_ = 0;
  return written;
}

}  // namespace vigil
