// Snapshots and the outbox: a scan's commit, its delta's upload and acknowledgement.
#include <chrono>

#include "store/state_store.h"
#include "store/store_errors.h"

namespace vigil {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<SnapshotRow> read_rows(sqlite::Database& db, int64_t id, const std::optional<std::string>& table) {
  sqlite::Statement statement(db,
                              "SELECT table_name, row_key, columns FROM snapshot_rows WHERE snapshot_id = ? "
                              "AND (?2 IS NULL OR table_name = ?2) ORDER BY table_name, row_key");
  statement.bind(1, id);
  if (table) {
    statement.bind(2, *table);
  } else {
    statement.bind_null(2);
  }
  std::vector<SnapshotRow> rows;
  while (statement.step()) rows.push_back({statement.text(0), statement.text(1), statement.text(2)});
  return rows;
}

// The newest acknowledged snapshot of `module`, or 0.
int64_t acknowledged_base(sqlite::Database& db, std::string_view module) {
  sqlite::Statement statement(db,
                              "SELECT id FROM snapshots WHERE module = ? AND state = 'acknowledged' "
                              "ORDER BY id DESC LIMIT 1");
  statement.bind(1, module);
  return statement.step() ? statement.integer(0) : 0;
}

// Deletes acknowledged snapshots of `module` older than `keep`.
void prune_before(sqlite::Database& db, std::string_view module, int64_t keep) {
  sqlite::Statement prune(db, "DELETE FROM snapshots WHERE module = ? AND id < ? AND state = 'acknowledged'");
  prune.bind(1, module).bind(2, keep).run();
}

}  // namespace

int64_t StateStore::counter(const char* name) {
  sqlite::Statement statement(db_, "SELECT value FROM counters WHERE name = ?");
  statement.bind(1, std::string_view(name));
  return statement.step() ? statement.integer(0) : 0;
}

void StateStore::add_to_counter(const char* name, int64_t amount) {
  sqlite::Statement statement(db_,
                              "INSERT INTO counters (name, value) VALUES (?1, ?2) "
                              "ON CONFLICT (name) DO UPDATE SET value = value + ?2");
  statement.bind(1, std::string_view(name)).bind(2, amount).run();
}

void StateStore::set_outbox_limits(int64_t max_entries, int64_t max_bytes) {
  std::lock_guard lock(mutex_);
  outbox_max_entries_ = max_entries;
  outbox_max_bytes_ = max_bytes;
}

int64_t StateStore::enforce_outbox_bound() {
  // Depth and size are kept as counters so the check costs O(1), not a scan of every payload.
  int64_t dropped = 0;
  while (counter("outbox_entries") > outbox_max_entries_ || counter("outbox_bytes") > outbox_max_bytes_) {
    if (counter("outbox_entries") <= 1) break;  // never drop the entry just written
    // Dropping a delta also drops its pending snapshot, so the module's next
    // delta is taken against the acknowledged base again: the dropped changes
    // are merged into it rather than lost.
    sqlite::Statement oldest(db_, "SELECT sequence, snapshot_id FROM outbox ORDER BY sequence LIMIT 1");
    oldest.step();
    int64_t sequence = oldest.integer(0);
    int64_t snapshot_id = oldest.integer(1);
    oldest.reset();
    remove_outbox_entry(sequence);
    sqlite::Statement drop_snapshot(db_, "DELETE FROM snapshots WHERE id = ? AND state = 'pending'");
    drop_snapshot.bind(1, snapshot_id).run();
    ++dropped;
  }
  if (dropped > 0) add_to_counter("outbox_dropped", dropped);
  return dropped;
}

void StateStore::remove_outbox_entry(int64_t sequence) {
  sqlite::Statement size(db_, "SELECT length(payload) FROM outbox WHERE sequence = ?");
  size.bind(1, sequence);
  if (!size.step()) return;
  int64_t bytes = size.integer(0);
  size.reset();
  sqlite::Statement remove(db_, "DELETE FROM outbox WHERE sequence = ?");
  remove.bind(1, sequence).run();
  add_to_counter("outbox_entries", -1);
  add_to_counter("outbox_bytes", -bytes);
}

Result<CommitResult> StateStore::commit_snapshot(const SnapshotInfo& info, const std::vector<SnapshotRow>& rows,
                                                 const PayloadBuilder& build_payload) {
  return guarded([&]() -> Result<CommitResult> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    int64_t base = acknowledged_base(db_, info.module);
    std::vector<SnapshotRow> base_rows = base != 0 ? read_rows(db_, base, std::nullopt) : std::vector<SnapshotRow>{};
    int64_t sequence = counter("outbox_sequence") + 1;
    std::optional<std::string> payload = build_payload(base_rows, sequence);

    CommitResult result;
    if (!payload && base != 0) {
      // Nothing changed: the base stays the acknowledged truth, with fresh times.
      sqlite::Statement touch(db_, "UPDATE snapshots SET started_at = ?, finished_at = ? WHERE id = ?");
      touch.bind(1, info.started_at).bind(2, info.finished_at).bind(3, base).run();
      transaction.commit();
      result.snapshot_id = base;
      return result;
    }

    sqlite::Statement header(db_,
                             "INSERT INTO snapshots (module, manifest_type, started_at, finished_at, row_count, state) "
                             "VALUES (?, ?, ?, ?, ?, ?)");
    header.bind(1, info.module)
        .bind(2, info.manifest_type)
        .bind(3, info.started_at)
        .bind(4, info.finished_at)
        .bind(5, static_cast<int64_t>(rows.size()))
        .bind(6, std::string_view(payload ? "pending" : "acknowledged"))
        .run();
    result.snapshot_id = sqlite3_last_insert_rowid(db_.handle());
    sqlite::Statement insert(db_,
                             "INSERT INTO snapshot_rows (snapshot_id, table_name, row_key, columns) "
                             "VALUES (?, ?, ?, ?)");
    for (const SnapshotRow& row : rows) {
      insert.bind(1, result.snapshot_id).bind(2, row.table).bind(3, row.key).bind(4, row.values).run();
    }
    if (payload) {
      sqlite::Statement outbox(db_,
                               "INSERT INTO outbox (sequence, module, kind, snapshot_id, created_at, payload) "
                               "VALUES (?, ?, 'delta', ?, ?, ?)");
      outbox.bind(1, sequence)
          .bind(2, info.module)
          .bind(3, result.snapshot_id)
          .bind(4, unix_now())
          .bind(5, *payload)
          .run();
      add_to_counter("outbox_sequence", 1);
      add_to_counter("outbox_entries", 1);
      add_to_counter("outbox_bytes", static_cast<int64_t>(payload->size()));
      result.sequence = sequence;
      result.dropped = enforce_outbox_bound();
    } else {
      prune_before(db_, info.module, result.snapshot_id);
    }
    transaction.commit();
    return result;
  });
}

Result<CommitResult> StateStore::append_outbox(std::string_view module, std::string_view kind,
                                               const std::function<std::string(int64_t sequence)>& build_payload) {
  return guarded([&]() -> Result<CommitResult> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    CommitResult result;
    int64_t sequence = counter("outbox_sequence") + 1;
    std::string payload = build_payload(sequence);
    sqlite::Statement outbox(db_,
                             "INSERT INTO outbox (sequence, module, kind, snapshot_id, created_at, payload) "
                             "VALUES (?, ?, ?, 0, ?, ?)");
    outbox.bind(1, sequence).bind(2, module).bind(3, kind).bind(4, unix_now()).bind(5, payload).run();
    add_to_counter("outbox_sequence", 1);
    add_to_counter("outbox_entries", 1);
    add_to_counter("outbox_bytes", static_cast<int64_t>(payload.size()));
    result.sequence = sequence;
    result.dropped = enforce_outbox_bound();
    transaction.commit();
    return result;
  });
}

Result<std::optional<SnapshotInfo>> StateStore::latest_snapshot(std::string_view module) {
  return guarded([&]() -> Result<std::optional<SnapshotInfo>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT id, manifest_type, started_at, finished_at, row_count, state FROM snapshots "
                                "WHERE module = ? ORDER BY id DESC LIMIT 1");
    statement.bind(1, module);
    if (!statement.step()) return std::optional<SnapshotInfo>();
    return std::optional<SnapshotInfo>(SnapshotInfo{statement.integer(0), std::string(module), statement.text(1),
                                                    statement.integer(2), statement.integer(3), statement.integer(4),
                                                    statement.text(5)});
  });
}

Result<std::vector<SnapshotRow>> StateStore::snapshot_rows(int64_t id, const std::optional<std::string>& table) {
  return guarded([&]() -> Result<std::vector<SnapshotRow>> {
    std::lock_guard lock(mutex_);
    return read_rows(db_, id, table);
  });
}

Result<std::optional<OutboxEntry>> StateStore::oldest_outbox_entry() {
  return guarded([&]() -> Result<std::optional<OutboxEntry>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT sequence, module, kind, snapshot_id, created_at, payload FROM outbox "
                                "ORDER BY sequence LIMIT 1");
    if (!statement.step()) return std::optional<OutboxEntry>();
    return std::optional<OutboxEntry>(OutboxEntry{statement.integer(0), statement.text(1), statement.text(2),
                                                  statement.integer(3), statement.integer(4), statement.text(5)});
  });
}

Result<bool> StateStore::acknowledge(int64_t sequence) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    sqlite::Statement find(db_, "SELECT module, snapshot_id FROM outbox WHERE sequence = ?");
    find.bind(1, sequence);
    if (!find.step()) return false;
    std::string module = find.text(0);
    int64_t snapshot_id = find.integer(1);
    find.reset();
    remove_outbox_entry(sequence);
    if (snapshot_id != 0) {
      sqlite::Statement promote(db_, "UPDATE snapshots SET state = 'acknowledged' WHERE id = ?");
      promote.bind(1, snapshot_id).run();
      prune_before(db_, module, snapshot_id);
    }
    transaction.commit();
    return true;
  });
}

Result<bool> StateStore::has_pending_delta(std::string_view module) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT 1 FROM outbox WHERE module = ? AND kind = 'delta' LIMIT 1");
    statement.bind(1, module);
    return statement.step();
  });
}

Result<OutboxStats> StateStore::outbox_stats() {
  return guarded([&]() -> Result<OutboxStats> {
    std::lock_guard lock(mutex_);
    OutboxStats stats{counter("outbox_entries"), counter("outbox_bytes"), 0, 0};
    stats.dropped = counter("outbox_dropped");
    stats.last_sequence = counter("outbox_sequence");
    return stats;
  });
}

Result<std::optional<int64_t>> StateStore::last_scan_completed(std::string_view module) {
  return guarded([&]() -> Result<std::optional<int64_t>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT last_scan_completed_at FROM module_schedule WHERE module = ?");
    statement.bind(1, module);
    if (!statement.step()) return std::optional<int64_t>();
    return std::optional<int64_t>(statement.integer(0));
  });
}

Status StateStore::set_last_scan_completed(std::string_view module, int64_t when) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(
        db_,
        "INSERT INTO module_schedule (module, last_scan_completed_at) VALUES (?, ?) "
        "ON CONFLICT (module) DO UPDATE SET last_scan_completed_at = excluded.last_scan_completed_at");
    statement.bind(1, module).bind(2, when).run();
    return Status::Ok();
  });
}

}  // namespace vigil

namespace vigil {

Result<int64_t> StateStore::reset_uploaded_state() {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    sqlite::Statement count(db_, "SELECT count(*) FROM outbox");
    count.step();
    int64_t dropped = count.integer(0);
    db_.exec("DELETE FROM outbox");
    db_.exec("DELETE FROM snapshots");        // rows go with them (ON DELETE CASCADE)
    db_.exec("DELETE FROM module_schedule");  // so every module's next interval scan is due now
    transaction.commit();
    return dropped;
  });
}

}  // namespace vigil
