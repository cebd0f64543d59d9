// Snapshots: a scan's rows streamed into a staging snapshot, and its commit
// with the delta against the acknowledged base, computed by merging two
// sorted cursors so that memory does not grow with the number of rows.
#include "store/snapshots.h"

#include <sqlite3.h>

#include "store/acknowledged_bases.h"
#include "store/outbox.h"
#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {
namespace {

// Walks one snapshot's rows in (table, key) order, the primary key's order.
class RowCursor {
 public:
  RowCursor(sqlite::Database& db, int64_t snapshot_id)
      : statement_(db,
                   "SELECT table_name, row_key, columns FROM snapshot_rows WHERE snapshot_id = ? "
                   "ORDER BY table_name, row_key") {
    statement_.bind(1, snapshot_id);
    advance();
  }
  bool done() const { return done_; }
  const SnapshotRow& row() const { return row_; }
  void advance() {
    done_ = !statement_.step();
    if (!done_) row_ = {statement_.text(0), statement_.text(1), statement_.text(2)};
  }

 private:
  sqlite::Statement statement_;
  SnapshotRow row_;
  bool done_ = false;
};

// SQLite orders TEXT with memcmp (BINARY collation), as std::string::compare does.
int compare_identity(const SnapshotRow& left, const SnapshotRow& right) {
  if (int by_table = left.table.compare(right.table); by_table != 0) return by_table;
  return left.key.compare(right.key);
}

// The newest acknowledged snapshot of `module`, or 0.
int64_t acknowledged_base(sqlite::Database& db, std::string_view module) {
  sqlite::Statement statement(db,
                              "SELECT id FROM snapshots WHERE module = ? AND state = 'acknowledged' "
                              "ORDER BY id DESC LIMIT 1");
  statement.bind(1, module);
  return statement.step() ? statement.integer(0) : 0;
}

}  // namespace

void prune_acknowledged_before(sqlite::Database& db, std::string_view module, int64_t keep) {
  sqlite::Statement prune(db, "DELETE FROM snapshots WHERE module = ? AND id < ? AND state = 'acknowledged'");
  prune.bind(1, module).bind(2, keep).run();
}

Result<int64_t> Snapshots::begin(std::string_view module, int64_t started_at) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement header(db_,
                             "INSERT INTO snapshots (module, manifest_type, started_at, finished_at, row_count, state) "
                             "VALUES (?, '', ?, 0, 0, 'staging')");
    header.bind(1, module).bind(2, started_at).run();
    return sqlite3_last_insert_rowid(db_.handle());
  });
}

Status Snapshots::add_rows(int64_t snapshot_id, const std::vector<SnapshotRow>& rows) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    sqlite::Statement insert(db_,
                             "INSERT INTO snapshot_rows (snapshot_id, table_name, row_key, columns) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
    for (const SnapshotRow& row : rows) {
      insert.bind(1, snapshot_id).bind(2, row.table).bind(3, row.key).bind(4, row.values).run();
      if (sqlite3_changes(db_.handle()) == 0) {
        return Error{"table '" + row.table + "': duplicate key " + row.key};
      }
    }
    transaction.commit();
    return Status::Ok();
  });
}

Status Snapshots::discard(int64_t snapshot_id) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement drop(db_, "DELETE FROM snapshots WHERE id = ? AND state = 'staging'");
    drop.bind(1, snapshot_id).run();
    return Status::Ok();
  });
}

Result<int64_t> Snapshots::drop_staging() {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    db_.exec("DELETE FROM snapshots WHERE state = 'staging'");
    return static_cast<int64_t>(sqlite3_changes(db_.handle()));
  });
}

Result<CommitResult> Snapshots::commit(const SnapshotInfo& info, DeltaEncoder& encoder) {
  try {
    return commit_with_delta(info, encoder);
  } catch (const std::exception& error) {  // the encoder's; the transaction rolled back
    return Error{"delta of snapshot " + std::to_string(info.id) + " not written: " + error.what()};
  }
}

Result<CommitResult> Snapshots::commit_with_delta(const SnapshotInfo& info, DeltaEncoder& encoder) {
  return guarded([&]() -> Result<CommitResult> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    int64_t base = acknowledged_base(db_, info.module);
    CommitResult result;
    result.snapshot_id = info.id;
    auto write = [&](const std::optional<std::string>& payload, bool last) {
      if (!payload) return;
      result.sequence = outbox_.insert_entry(info.module, "delta", info.id, last, *payload);
      ++result.chunks;
    };
    {
      RowCursor before(db_, base);  // id 0 has no rows: everything is added
      RowCursor after(db_, info.id);
      while (!before.done() || !after.done()) {
        int order = before.done() ? 1 : after.done() ? -1 : compare_identity(before.row(), after.row());
        if (order < 0) {
          write(encoder.add({ChangeKind::kRemoved, before.row()}), false);
          ++result.removed;
          before.advance();
        } else if (order > 0) {
          write(encoder.add({ChangeKind::kAdded, after.row()}), false);
          ++result.added;
          after.advance();
        } else {
          if (before.row().values != after.row().values) {
            write(encoder.add({ChangeKind::kChanged, after.row(), &before.row().values}), false);
            ++result.changed;
          }
          before.advance();
          after.advance();
        }
      }
    }
    write(encoder.finish(), true);

    if (result.chunks == 0 && base != 0) {
      // Nothing changed: the base stays the acknowledged truth, with fresh times.
      sqlite::Statement(db_, "DELETE FROM snapshots WHERE id = ?").bind(1, info.id).run();
      sqlite::Statement touch(db_, "UPDATE snapshots SET started_at = ?, finished_at = ? WHERE id = ?");
      touch.bind(1, info.started_at).bind(2, info.finished_at).bind(3, base).run();
      transaction.commit();
      result.snapshot_id = base;
      return result;
    }
    sqlite::Statement header(db_,
                             "UPDATE snapshots SET manifest_type = ?, started_at = ?, finished_at = ?, row_count = ?, "
                             "state = ? WHERE id = ? AND state = 'staging'");
    header.bind(1, info.manifest_type)
        .bind(2, info.started_at)
        .bind(3, info.finished_at)
        .bind(4, info.row_count)
        .bind(5, std::string_view(result.chunks > 0 ? "pending" : "acknowledged"))
        .bind(6, info.id)
        .run();
    if (sqlite3_changes(db_.handle()) != 1) {
      return Error{"state store: snapshot " + std::to_string(info.id) + " is not being written"};
    }
    if (result.chunks > 0) {
      result.dropped = outbox_.enforce_bound(info.id);
    } else {
      prune_acknowledged_before(db_, info.module, info.id);
    }
    transaction.commit();
    return result;
  });
}

Result<std::optional<SnapshotInfo>> Snapshots::latest(std::string_view module) {
  return guarded([&]() -> Result<std::optional<SnapshotInfo>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT id, manifest_type, started_at, finished_at, row_count, state FROM snapshots "
                                "WHERE module = ? AND state != 'staging' ORDER BY id DESC LIMIT 1");
    statement.bind(1, module);
    if (!statement.step()) return std::optional<SnapshotInfo>();
    return std::optional<SnapshotInfo>(SnapshotInfo{statement.integer(0), std::string(module), statement.text(1),
                                                    statement.integer(2), statement.integer(3), statement.integer(4),
                                                    statement.text(5)});
  });
}

Result<std::vector<SnapshotRow>> Snapshots::rows(int64_t id, const std::optional<std::string>& table, int64_t limit,
                                                 int64_t offset) {
  return guarded([&]() -> Result<std::vector<SnapshotRow>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT table_name, row_key, columns FROM snapshot_rows WHERE snapshot_id = ?1 "
                                "AND (?2 IS NULL OR table_name = ?2) ORDER BY table_name, row_key LIMIT ?3 OFFSET ?4");
    statement.bind(1, id).bind(3, limit).bind(4, offset);
    if (table) {
      statement.bind(2, *table);
    } else {
      statement.bind_null(2);
    }
    std::vector<SnapshotRow> rows;
    while (statement.step()) rows.push_back({statement.text(0), statement.text(1), statement.text(2)});
    return rows;
  });
}

Result<std::vector<std::string>> Snapshots::tables(int64_t id) {
  return guarded([&]() -> Result<std::vector<std::string>> {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (;;) {
      sqlite::Statement next(db_,
                             "SELECT min(table_name) FROM snapshot_rows WHERE snapshot_id = ?1 AND table_name > ?2");
      next.bind(1, id).bind(2, names.empty() ? std::string() : names.back());
      if (!next.step() || next.is_null(0)) return names;
      names.push_back(next.text(0));
    }
  });
}

Result<std::optional<int64_t>> Snapshots::last_scan_completed(std::string_view module) {
  return guarded([&]() -> Result<std::optional<int64_t>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT last_scan_completed_at FROM module_schedule WHERE module = ?");
    statement.bind(1, module);
    if (!statement.step()) return std::optional<int64_t>();
    return std::optional<int64_t>(statement.integer(0));
  });
}

Status Snapshots::set_last_scan_completed(std::string_view module, int64_t when) {
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
