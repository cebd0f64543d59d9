// SQLite-backed state store and its schema migrations.
#include "store/state_store.h"

#include <array>

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
};

template <class Fn>
auto guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const sqlite::SqliteError& error) {
    return Error{std::string("state store: ") + error.what()};
  }
}

}  // namespace

StateStore::StateStore(const std::filesystem::path& path) : db_(path.string()) {
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec("PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA foreign_keys=ON");
  sqlite3_busy_timeout(db_.handle(), 5000);
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::filesystem::path& path) {
  try {
    std::error_code ignored;
    std::filesystem::create_directories(path.parent_path(), ignored);
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

Result<int64_t> StateStore::write_snapshot(const SnapshotInfo& info, const std::vector<SnapshotRow>& rows) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    sqlite::Statement header(db_,
                             "INSERT INTO snapshots (module, manifest_type, started_at, finished_at, row_count) "
                             "VALUES (?, ?, ?, ?, ?)");
    header.bind(1, info.module)
        .bind(2, info.manifest_type)
        .bind(3, info.started_at)
        .bind(4, info.finished_at)
        .bind(5, static_cast<int64_t>(rows.size()))
        .run();
    int64_t id = sqlite3_last_insert_rowid(db_.handle());

    sqlite::Statement insert(db_,
                             "INSERT INTO snapshot_rows (snapshot_id, table_name, row_key, columns) "
                             "VALUES (?, ?, ?, ?)");
    for (const SnapshotRow& row : rows) {
      insert.bind(1, id).bind(2, row.table).bind(3, row.key).bind(4, row.values).run();
    }

    sqlite::Statement prune(db_,
                            "DELETE FROM snapshots WHERE module = ? AND id NOT IN "
                            "(SELECT id FROM snapshots WHERE module = ? ORDER BY id DESC LIMIT ?)");
    prune.bind(1, info.module).bind(2, info.module).bind(3, static_cast<int64_t>(kSnapshotsKept)).run();
    transaction.commit();
    return id;
  });
}

Result<std::optional<SnapshotInfo>> StateStore::latest_snapshot(std::string_view module) {
  return guarded([&]() -> Result<std::optional<SnapshotInfo>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT id, manifest_type, started_at, finished_at, row_count FROM snapshots "
                                "WHERE module = ? ORDER BY id DESC LIMIT 1");
    statement.bind(1, module);
    if (!statement.step()) return std::optional<SnapshotInfo>();
    return std::optional<SnapshotInfo>(SnapshotInfo{statement.integer(0), std::string(module), statement.text(1),
                                                    statement.integer(2), statement.integer(3), statement.integer(4)});
  });
}

Result<std::vector<SnapshotRow>> StateStore::snapshot_rows(int64_t id, const std::optional<std::string>& table) {
  return guarded([&]() -> Result<std::vector<SnapshotRow>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
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
  });
}

}  // namespace vigil
