// The outbox: entries waiting for delivery, their acknowledgement, the bound
// on its size and the entries set aside because the receiver refused them.
#include "store/outbox.h"

#include <chrono>

#include "store/acknowledged_bases.h"
#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {
namespace {

// How many set-aside entries are remembered (the counter keeps the total).
constexpr int64_t kSetAsideRemembered = 1000;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kEntryColumns = "sequence, module, kind, snapshot_id, created_at, payload, last_chunk, attempts";

OutboxEntry read_entry(const sqlite::Statement& row) {
  return OutboxEntry{row.integer(0), row.text(1), row.text(2),         row.integer(3),
                     row.integer(4), row.text(5), row.integer(6) != 0, row.integer(7)};
}

int64_t counter(sqlite::Database& db, const char* name) {
  sqlite::Statement statement(db, "SELECT value FROM counters WHERE name = ?");
  statement.bind(1, std::string_view(name));
  return statement.step() ? statement.integer(0) : 0;
}

void add_to_counter(sqlite::Database& db, const char* name, int64_t amount) {
  sqlite::Statement statement(db,
                              "INSERT INTO counters (name, value) VALUES (?1, ?2) "
                              "ON CONFLICT (name) DO UPDATE SET value = value + ?2");
  statement.bind(1, std::string_view(name)).bind(2, amount).run();
}

}  // namespace

void Outbox::set_limits(int64_t max_entries, int64_t max_bytes) {
  std::lock_guard lock(mutex_);
  max_entries_ = max_entries;
  max_bytes_ = max_bytes;
}

int64_t Outbox::insert_entry(std::string_view module, std::string_view kind, int64_t snapshot_id, bool last_chunk,
                             std::string_view payload) {
  int64_t sequence = counter(db_, "outbox_sequence") + 1;
  sqlite::Statement outbox(db_,
                           "INSERT INTO outbox (sequence, module, kind, snapshot_id, created_at, payload, last_chunk) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)");
  outbox.bind(1, sequence)
      .bind(2, module)
      .bind(3, kind)
      .bind(4, snapshot_id)
      .bind(5, unix_now())
      .bind_blob(6, payload)
      .bind(7, int64_t{last_chunk ? 1 : 0})
      .run();
  add_to_counter(db_, "outbox_sequence", 1);
  add_to_counter(db_, "outbox_entries", 1);
  add_to_counter(db_, "outbox_bytes", static_cast<int64_t>(payload.size()));
  return sequence;
}

int64_t Outbox::enforce_bound(int64_t keep_snapshot) {
  // Depth and size are kept as counters so the check costs O(1), not a scan of every payload.
  int64_t dropped = 0;
  while (counter(db_, "outbox_entries") > max_entries_ || counter(db_, "outbox_bytes") > max_bytes_) {
    sqlite::Statement oldest(db_, "SELECT sequence, snapshot_id FROM outbox ORDER BY sequence LIMIT 1");
    if (!oldest.step()) break;
    int64_t sequence = oldest.integer(0);
    int64_t snapshot_id = oldest.integer(1);
    oldest.reset();
    if (snapshot_id != 0 && snapshot_id == keep_snapshot) break;  // never the delta just written
    if (snapshot_id == 0 && counter(db_, "outbox_entries") <= 1) break;
    // Dropping a delta drops all its chunks and its pending snapshot, so the
    // module's next delta is taken against the acknowledged base again: the
    // dropped changes are merged into it rather than lost.
    if (snapshot_id == 0) {
      remove_entry(sequence);
      ++dropped;
      continue;
    }
    sqlite::Statement chunks(db_, "SELECT sequence FROM outbox WHERE snapshot_id = ?");
    chunks.bind(1, snapshot_id);
    std::vector<int64_t> sequences;
    while (chunks.step()) sequences.push_back(chunks.integer(0));
    chunks.reset();
    for (int64_t chunk : sequences) remove_entry(chunk);
    dropped += static_cast<int64_t>(sequences.size());
    sqlite::Statement(db_, "DELETE FROM snapshots WHERE id = ? AND state = 'pending'").bind(1, snapshot_id).run();
  }
  if (dropped > 0) add_to_counter(db_, "outbox_dropped", dropped);
  return dropped;
}

void Outbox::remove_entry(int64_t sequence) {
  sqlite::Statement size(db_, "SELECT length(payload) FROM outbox WHERE sequence = ?");
  size.bind(1, sequence);
  if (!size.step()) return;
  int64_t bytes = size.integer(0);
  size.reset();
  sqlite::Statement remove(db_, "DELETE FROM outbox WHERE sequence = ?");
  remove.bind(1, sequence).run();
  add_to_counter(db_, "outbox_entries", -1);
  add_to_counter(db_, "outbox_bytes", -bytes);
}

Result<AppendResult> Outbox::append(std::string_view module, std::string_view kind, std::string_view payload) {
  return guarded([&]() -> Result<AppendResult> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    AppendResult result;
    result.sequence = insert_entry(module, kind, 0, true, payload);
    result.dropped = enforce_bound(0);
    transaction.commit();
    return result;
  });
}

Result<std::optional<OutboxEntry>> Outbox::oldest() {
  return guarded([&]() -> Result<std::optional<OutboxEntry>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(
        db_, (std::string("SELECT ") + kEntryColumns + " FROM outbox ORDER BY sequence LIMIT 1").c_str());
    if (!statement.step()) return std::optional<OutboxEntry>();
    return std::optional<OutboxEntry>(read_entry(statement));
  });
}

Result<std::optional<OutboxEntry>> Outbox::oldest(std::string_view module) {
  return guarded([&]() -> Result<std::optional<OutboxEntry>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(
        db_,
        (std::string("SELECT ") + kEntryColumns + " FROM outbox WHERE module = ? ORDER BY sequence LIMIT 1").c_str());
    statement.bind(1, module);
    if (!statement.step()) return std::optional<OutboxEntry>();
    return std::optional<OutboxEntry>(read_entry(statement));
  });
}

Result<std::vector<std::string>> Outbox::modules() {
  return guarded([&]() -> Result<std::vector<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT DISTINCT module FROM outbox ORDER BY module");
    std::vector<std::string> modules;
    while (statement.step()) modules.push_back(statement.text(0));
    return modules;
  });
}

Result<bool> Outbox::acknowledge(int64_t sequence) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    sqlite::Statement find(db_, "SELECT module, snapshot_id, last_chunk FROM outbox WHERE sequence = ?");
    find.bind(1, sequence);
    if (!find.step()) return false;
    std::string module = find.text(0);
    int64_t snapshot_id = find.integer(1);
    bool last_chunk = find.integer(2) != 0;
    find.reset();
    remove_entry(sequence);
    if (snapshot_id != 0 && last_chunk) {
      sqlite::Statement promote(db_, "UPDATE snapshots SET state = 'acknowledged' WHERE id = ?");
      promote.bind(1, snapshot_id).run();
      prune_acknowledged_before(db_, module, snapshot_id);
    }
    transaction.commit();
    return true;
  });
}

Result<int64_t> Outbox::record_upload_attempt(int64_t sequence) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement count(db_, "UPDATE outbox SET attempts = attempts + 1 WHERE sequence = ? RETURNING attempts");
    count.bind(1, sequence);
    return count.step() ? count.integer(0) : int64_t{0};
  });
}

Result<int64_t> Outbox::set_aside(int64_t sequence, std::string_view reason) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    sqlite::Statement find(db_, "SELECT snapshot_id FROM outbox WHERE sequence = ?");
    find.bind(1, sequence);
    if (!find.step()) return int64_t{0};
    int64_t snapshot_id = find.integer(0);
    find.reset();
    // The refused entry, and for a delta every chunk of its snapshot: the
    // receiver cannot complete that snapshot any more.
    sqlite::Statement moved(db_,
                            "SELECT sequence FROM outbox WHERE sequence = ?1 OR (?2 != 0 AND snapshot_id = ?2) "
                            "ORDER BY sequence");
    moved.bind(1, sequence).bind(2, snapshot_id);
    std::vector<int64_t> sequences;
    while (moved.step()) sequences.push_back(moved.integer(0));
    moved.reset();
    sqlite::Statement keep(
        db_,
        "INSERT OR REPLACE INTO outbox_set_aside "
        "(sequence, module, kind, bytes, attempts, set_aside_at, reason) "
        "SELECT sequence, module, kind, length(payload), attempts, ?, ? FROM outbox WHERE sequence = ?");
    for (int64_t each : sequences) {
      std::string why =
          each == sequence ? std::string(reason) : "chunk of the same snapshot as sequence " + std::to_string(sequence);
      keep.bind(1, unix_now()).bind(2, why).bind(3, each).run();
      remove_entry(each);
    }
    if (snapshot_id != 0) {
      sqlite::Statement(db_, "DELETE FROM snapshots WHERE id = ? AND state = 'pending'").bind(1, snapshot_id).run();
    }
    sqlite::Statement(db_,
                      "DELETE FROM outbox_set_aside WHERE sequence <= "
                      "(SELECT sequence FROM outbox_set_aside ORDER BY sequence DESC LIMIT 1 OFFSET ?)")
        .bind(1, kSetAsideRemembered)
        .run();
    add_to_counter(db_, "outbox_set_aside", static_cast<int64_t>(sequences.size()));
    transaction.commit();
    return static_cast<int64_t>(sequences.size());
  });
}

Result<std::vector<SetAsideEntry>> Outbox::set_aside_entries(int64_t limit) {
  return guarded([&]() -> Result<std::vector<SetAsideEntry>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT sequence, module, kind, bytes, attempts, set_aside_at, reason "
                                "FROM outbox_set_aside ORDER BY sequence DESC LIMIT ?");
    statement.bind(1, limit);
    std::vector<SetAsideEntry> entries;
    while (statement.step()) {
      entries.push_back({statement.integer(0), statement.text(1), statement.text(2), statement.integer(3),
                         statement.integer(4), statement.integer(5), statement.text(6)});
    }
    return entries;
  });
}

Result<bool> Outbox::has_pending_delta(std::string_view module) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT 1 FROM outbox WHERE module = ? AND kind = 'delta' LIMIT 1");
    statement.bind(1, module);
    return statement.step();
  });
}

Result<OutboxStats> Outbox::stats() {
  return guarded([&]() -> Result<OutboxStats> {
    std::lock_guard lock(mutex_);
    OutboxStats stats;
    stats.depth = counter(db_, "outbox_entries");
    stats.bytes = counter(db_, "outbox_bytes");
    stats.dropped = counter(db_, "outbox_dropped");
    stats.set_aside = counter(db_, "outbox_set_aside");
    stats.last_sequence = counter(db_, "outbox_sequence");
    return stats;
  });
}

}  // namespace vigil
