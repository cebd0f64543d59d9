// SQLite-backed state store and its schema migrations.
#include "store/state_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "base/error_text.h"
#include "store/store_errors.h"

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
};

}  // namespace

StateStore::StateStore(const std::filesystem::path& path) : db_(path.string()) {
  // First, so that opening while another process (vigilctl, a script) holds
  // the database waits instead of failing.
  sqlite3_busy_timeout(db_.handle(), 5000);
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec("PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA foreign_keys=ON");
}

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
  std::lock_guard lock(mutex_);
  sqlite::Statement statement(db_, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.integer(0));
}

void StateStore::migrate() {
  sqlite::Transaction transaction(db_);
  sqlite::Statement version_query(db_, "PRAGMA user_version");
  version_query.step();
  int64_t version = version_query.integer(0);
  version_query.reset();
  if (version > latest_schema_version()) {
    throw sqlite::SqliteError("schema version " + std::to_string(version) + " is newer than this build supports (" +
                              std::to_string(latest_schema_version()) + ")");
  }
  for (auto next = static_cast<size_t>(version); next < kMigrations.size(); ++next) {
    db_.exec(kMigrations[next]);
    db_.exec(("PRAGMA user_version=" + std::to_string(next + 1)).c_str());
  }
  transaction.commit();
}

Result<std::optional<std::string>> StateStore::config(std::string_view key) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT value FROM config WHERE key = ?");
    statement.bind(1, key);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status StateStore::set_config(std::string_view key, std::string_view value) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(
        db_, "INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    statement.bind(1, key).bind(2, value).run();
    return Status::Ok();
  });
}

Status StateStore::update_config(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    sqlite::Statement upsert(
        db_, "INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    sqlite::Statement erase(db_, "DELETE FROM config WHERE key = ?");
    for (const auto& [key, value] : changes) {
      if (value) {
        upsert.bind(1, key).bind(2, *value).run();
      } else {
        erase.bind(1, key).run();
      }
    }
    transaction.commit();
    return Status::Ok();
  });
}

Result<std::vector<std::pair<std::string, std::string>>> StateStore::all_config() {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  return guarded([&]() -> Result<Pairs> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT key, value FROM config ORDER BY key");
    Pairs pairs;
    while (statement.step()) pairs.emplace_back(statement.text(0), statement.text(1));
    return pairs;
  });
}

Result<std::vector<std::pair<std::string, std::string>>> StateStore::module_settings() {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  return guarded([&]() -> Result<Pairs> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT module, declarations FROM module_settings ORDER BY module");
    Pairs pairs;
    while (statement.step()) pairs.emplace_back(statement.text(0), statement.text(1));
    return pairs;
  });
}

Status StateStore::set_module_settings(std::string_view module, const std::optional<std::string>& declarations) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    if (!declarations) {
      sqlite::Statement(db_, "DELETE FROM module_settings WHERE module = ?").bind(1, module).run();
      return Status::Ok();
    }
    sqlite::Statement statement(db_,
                                "INSERT INTO module_settings (module, declarations) VALUES (?, ?) "
                                "ON CONFLICT (module) DO UPDATE SET declarations = excluded.declarations");
    statement.bind(1, module).bind(2, *declarations).run();
    return Status::Ok();
  });
}

Result<std::optional<std::string>> StateStore::plugin_state(std::string_view module, std::string_view key) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT value FROM plugin_state WHERE module = ? AND key = ?");
    statement.bind(1, module).bind(2, key);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status StateStore::set_plugin_state(std::string_view module, std::string_view key, std::string_view value) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "INSERT INTO plugin_state (module, key, value) VALUES (?, ?, ?) "
                                "ON CONFLICT (module, key) DO UPDATE SET value = excluded.value");
    statement.bind(1, module).bind(2, key).bind(3, value).run();
    return Status::Ok();
  });
}

Result<bool> StateStore::delete_plugin_state(std::string_view module, std::string_view key) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "DELETE FROM plugin_state WHERE module = ? AND key = ?");
    statement.bind(1, module).bind(2, key).run();
    return sqlite3_changes(db_.handle()) > 0;
  });
}

Status StateStore::put_manifest(const Manifest& manifest) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "INSERT INTO manifests (module, manifest_type, version, body) VALUES (?, ?, ?, ?) "
                                "ON CONFLICT (module, manifest_type) DO UPDATE SET "
                                "version = excluded.version, body = excluded.body");
    statement.bind(1, manifest.module)
        .bind(2, manifest.manifest_type)
        .bind(3, manifest.version)
        .bind(4, manifest.body)
        .run();
    return Status::Ok();
  });
}

Result<std::optional<Manifest>> StateStore::manifest(std::string_view module, std::string_view manifest_type) {
  return guarded([&]() -> Result<std::optional<Manifest>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT version, body FROM manifests WHERE module = ? AND manifest_type = ?");
    statement.bind(1, module).bind(2, manifest_type);
    if (!statement.step()) return std::optional<Manifest>();
    return std::optional<Manifest>(
        Manifest{std::string(module), std::string(manifest_type), statement.text(0), statement.text(1)});
  });
}

Result<std::vector<Manifest>> StateStore::manifests(std::string_view module) {
  return guarded([&]() -> Result<std::vector<Manifest>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT manifest_type, version, body FROM manifests WHERE module = ? "
                                "ORDER BY manifest_type");
    statement.bind(1, module);
    std::vector<Manifest> found;
    while (statement.step()) {
      found.push_back(Manifest{std::string(module), statement.text(0), statement.text(1), statement.text(2)});
    }
    return found;
  });
}

Result<int64_t> StateStore::record_plugin_crash(std::string_view module, std::string_view reason, int64_t when) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "INSERT INTO plugin_crashes (module, crashes, last_crash_at, last_reason) "
                                "VALUES (?1, 1, ?2, ?3) ON CONFLICT (module) DO UPDATE SET "
                                "crashes = crashes + 1, last_crash_at = ?2, last_reason = ?3 RETURNING crashes");
    statement.bind(1, module).bind(2, when).bind(3, reason);
    statement.step();
    return statement.integer(0);
  });
}

Result<int64_t> StateStore::plugin_crashes(std::string_view module) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT crashes FROM plugin_crashes WHERE module = ?");
    statement.bind(1, module);
    return statement.step() ? statement.integer(0) : 0;
  });
}

Result<bool> StateStore::forget_plugin_crashes(std::string_view module) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "DELETE FROM plugin_crashes WHERE module = ?");
    statement.bind(1, module).run();
    return sqlite3_changes(db_.handle()) > 0;
  });
}

}  // namespace vigil
