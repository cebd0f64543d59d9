// The state store's connection, its schema migrations and what spans its parts.
#include "store/state_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <mutex>

#include "base/error_text.h"
#include "store/config_table.h"
#include "store/key_hive.h"
#include "store/manifests.h"
#include "store/outbox.h"
#include "store/plugin_crashes.h"
#include "store/plugin_slots.h"
#include "store/plugin_state.h"
#include "store/snapshots.h"
#include "store/store_errors.h"
#include "store/update_metadata.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {
namespace {

// Migration N (1-based) brings the schema from version N-1 to N. Append only.
constexpr std::array kMigrations = {
    R"sql(
    CREATE TABLE config (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE hive_keys (
      path TEXT NOT NULL,
      name TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (path, name)
    ) WITHOUT ROWID;
    CREATE TABLE manifests (
      module TEXT NOT NULL,
      manifest_type TEXT NOT NULL,
      version TEXT NOT NULL,
      body BLOB NOT NULL,
      PRIMARY KEY (module, manifest_type)
    ) WITHOUT ROWID;
    CREATE TABLE snapshots (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      module TEXT NOT NULL,
      manifest_type TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      finished_at INTEGER NOT NULL,
      row_count INTEGER NOT NULL
    );
    CREATE INDEX snapshots_by_module ON snapshots (module, id);
    CREATE TABLE snapshot_rows (
      snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
      table_name TEXT NOT NULL,
      row_key TEXT NOT NULL,
      columns TEXT NOT NULL,
      PRIMARY KEY (snapshot_id, table_name, row_key)
    ) WITHOUT ROWID;
    CREATE TABLE plugin_state (
      module TEXT NOT NULL,
      key TEXT NOT NULL,
      value BLOB NOT NULL,
      PRIMARY KEY (module, key)
    ) WITHOUT ROWID;
    )sql",
    R"sql(
    ALTER TABLE snapshots ADD COLUMN state TEXT NOT NULL DEFAULT 'acknowledged';
    CREATE TABLE outbox (
      sequence INTEGER PRIMARY KEY,
      module TEXT NOT NULL,
      kind TEXT NOT NULL,
      snapshot_id INTEGER,
      created_at INTEGER NOT NULL,
      payload BLOB NOT NULL
    );
    CREATE INDEX outbox_by_module ON outbox (module);
    CREATE TABLE counters (
      name TEXT PRIMARY KEY,
      value INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE module_schedule (
      module TEXT PRIMARY KEY,
      last_scan_completed_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    R"sql(
    CREATE TABLE plugin_crashes (
      module TEXT PRIMARY KEY,
      crashes INTEGER NOT NULL,
      last_crash_at INTEGER NOT NULL,
      last_reason TEXT NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // Payloads become Protocol Buffers, in chunks. Entries of older versions
    // (JSON) are dropped with their pending snapshots: each module's next
    // delta, taken against its acknowledged base, carries those changes again.
    R"sql(
    DELETE FROM outbox;
    DELETE FROM snapshots WHERE state = 'pending';
    UPDATE counters SET value = 0 WHERE name IN ('outbox_entries', 'outbox_bytes');
    ALTER TABLE outbox ADD COLUMN last_chunk INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    DROP INDEX outbox_by_module;
    CREATE INDEX outbox_by_module ON outbox (module, sequence);
    CREATE INDEX outbox_by_snapshot ON outbox (snapshot_id);
    CREATE TABLE outbox_set_aside (
      sequence INTEGER PRIMARY KEY,
      module TEXT NOT NULL,
      kind TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      attempts INTEGER NOT NULL,
      set_aside_at INTEGER NOT NULL,
      reason TEXT NOT NULL
    );
    )sql",
    // The settings modules declare (ABI 1.5), for validating their keys while they are not loaded.
    R"sql(
    CREATE TABLE module_settings (
      module TEXT PRIMARY KEY,
      declarations TEXT NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // Signed plugin updates: trusted metadata (update_metadata.h) and slots (plugin_slots.h).
    R"sql(
    CREATE TABLE update_metadata (
      role TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      expires INTEGER NOT NULL,
      bytes BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE plugin_slots (
      module TEXT PRIMARY KEY,
      active TEXT NOT NULL,
      previous TEXT NOT NULL,
      state TEXT NOT NULL,
      a_version TEXT NOT NULL,
      a_sha256 TEXT NOT NULL,
      b_version TEXT NOT NULL,
      b_sha256 TEXT NOT NULL,
      changed_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    )sql",
    // Plugin swaps: the factory file a slot stands in for, the probe, the
    // versions found bad, and the history of upgrades (plugin_slots.h).
    R"sql(
    ALTER TABLE plugin_slots ADD COLUMN factory_file TEXT NOT NULL DEFAULT '';
    ALTER TABLE plugin_slots ADD COLUMN factory_sha256 TEXT NOT NULL DEFAULT '';
    ALTER TABLE plugin_slots ADD COLUMN probe_deadline INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE plugin_slots ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE plugin_bad_versions (
      module TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      version TEXT NOT NULL,
      reason TEXT NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (module, sha256)
    ) WITHOUT ROWID;
    CREATE TABLE plugin_upgrades (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      module TEXT NOT NULL,
      from_version TEXT NOT NULL,
      to_version TEXT NOT NULL,
      outcome TEXT NOT NULL,
      reason TEXT NOT NULL,
      swap_ms INTEGER NOT NULL,
      revert_ms INTEGER NOT NULL
    );
    CREATE INDEX plugin_upgrades_by_module ON plugin_upgrades (module, id);
    )sql",
    // What staging each slot's file fetched, and each upgrade's share of it.
    R"sql(
    ALTER TABLE plugin_slots ADD COLUMN a_downloaded INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE plugin_slots ADD COLUMN b_downloaded INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE plugin_upgrades ADD COLUMN bytes_downloaded INTEGER NOT NULL DEFAULT -1;
    )sql",
    // Who gave each manifest: 'platform' or 'local' (vigilctl manifest set), so
    // status can say which is in force. Before, vigilctl's were labelled 'local'
    // unless the operator chose another version label.
    R"sql(
    ALTER TABLE manifests ADD COLUMN source TEXT NOT NULL DEFAULT 'platform';
    UPDATE manifests SET source = 'local' WHERE version = 'local';
    )sql",
};

}  // namespace

// The connection, its mutex and every part of the store on them.
struct StateStore::Parts {
  explicit Parts(const std::filesystem::path& path);

  std::mutex mutex;
  sqlite::Database db;
  ConfigTable config{mutex, db};
  KeyHive hive{mutex, db};
  Manifests manifests{mutex, db};
  PluginState plugin_state{mutex, db};
  PluginCrashes plugin_crashes{mutex, db};
  Outbox outbox{mutex, db};
  Snapshots snapshots{mutex, db, outbox};
  UpdateMetadata update_metadata{mutex, db};
  PluginSlots plugin_slots{mutex, db};
};

StateStore::Parts::Parts(const std::filesystem::path& path) : db(path.string()) {
  // First, so that opening while another process (vigilctl, a script) holds
  // the database waits instead of failing.
  sqlite3_busy_timeout(db.handle(), 5000);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=ON");
}

StateStore::StateStore(const std::filesystem::path& path) : parts_(std::make_unique<Parts>(path)) {}

StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::open(const std::filesystem::path& path) {
  try {
    std::error_code ignored;
    std::filesystem::create_directories(path.parent_path(), ignored);
    // Private from the first byte: SQLite gives the WAL and SHM files the
    // database file's mode, so all three stay 0600.
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Error{"state store " + path.string() + ": cannot open: " + error_text(errno)};
    ::close(fd);
    std::unique_ptr<StateStore> store(new StateStore(path));
    store->migrate();
    return store;
  } catch (const sqlite::SqliteError& error) {
    return Error{"state store " + path.string() + ": " + error.what()};
  }
}

int StateStore::latest_schema_version() {
  return static_cast<int>(kMigrations.size());
}

int StateStore::schema_version() {
  std::lock_guard lock(parts_->mutex);
  sqlite::Statement statement(parts_->db, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.integer(0));
}

void StateStore::migrate() {
  sqlite::Database& db = parts_->db;
  sqlite::Transaction transaction(db);
  sqlite::Statement version_query(db, "PRAGMA user_version");
  version_query.step();
  int64_t version = version_query.integer(0);
  version_query.reset();
  if (version > latest_schema_version()) {
    throw sqlite::SqliteError("schema version " + std::to_string(version) + " is newer than this build supports (" +
                              std::to_string(latest_schema_version()) + ")");
  }
  for (auto next = static_cast<size_t>(version); next < kMigrations.size(); ++next) {
    db.exec(kMigrations[next]);
    db.exec(("PRAGMA user_version=" + std::to_string(next + 1)).c_str());
  }
  transaction.commit();
}

Result<int64_t> StateStore::data_version() {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(parts_->mutex);
    sqlite::Statement statement(parts_->db, "PRAGMA data_version");
    statement.step();
    return statement.integer(0);
  });
}

Result<int64_t> StateStore::reset_uploaded_state() {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(parts_->mutex);
    sqlite::Database& db = parts_->db;
    sqlite::Transaction transaction(db);
    sqlite::Statement count(db, "SELECT count(*) FROM outbox");
    count.step();
    int64_t dropped = count.integer(0);
    count.reset();
    db.exec("DELETE FROM outbox");
    db.exec("UPDATE counters SET value = 0 WHERE name IN ('outbox_entries', 'outbox_bytes')");
    // Rows go with them (ON DELETE CASCADE); a scan still writing keeps its staging snapshot.
    db.exec("DELETE FROM snapshots WHERE state != 'staging'");
    db.exec("DELETE FROM module_schedule");  // so every module's next interval scan is due now
    transaction.commit();
    return dropped;
  });
}

ConfigTable& StateStore::config() {
  return parts_->config;
}

KeyHive& StateStore::hive() {
  return parts_->hive;
}

Manifests& StateStore::manifests() {
  return parts_->manifests;
}

PluginState& StateStore::plugin_state() {
  return parts_->plugin_state;
}

PluginCrashes& StateStore::plugin_crashes() {
  return parts_->plugin_crashes;
}

Snapshots& StateStore::snapshots() {
  return parts_->snapshots;
}

Outbox& StateStore::outbox() {
  return parts_->outbox;
}

UpdateMetadata& StateStore::update_metadata() {
  return parts_->update_metadata;
}

PluginSlots& StateStore::plugin_slots() {
  return parts_->plugin_slots;
}

}  // namespace vigil
