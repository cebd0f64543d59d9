// The key hive in the state store, and change detection across processes.
#include <sqlite3.h>

#include "store/state_store.h"
#include "store/store_errors.h"

namespace vigil {

Result<std::optional<std::string>> StateStore::hive_get(std::string_view path, std::string_view name) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT value FROM hive_keys WHERE path = ? AND name = ?");
    statement.bind(1, path).bind(2, name);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status StateStore::hive_set(std::string_view path, std::string_view name, std::string_view value) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "INSERT INTO hive_keys (path, name, value) VALUES (?, ?, ?) "
                                "ON CONFLICT (path, name) DO UPDATE SET value = excluded.value");
    statement.bind(1, path).bind(2, name).bind(3, value).run();
    return Status::Ok();
  });
}

Result<bool> StateStore::hive_create(std::string_view path, std::string_view name, std::string_view value) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "INSERT OR IGNORE INTO hive_keys (path, name, value) VALUES (?, ?, ?)");
    statement.bind(1, path).bind(2, name).bind(3, value).run();
    return sqlite3_changes(db_.handle()) > 0;
  });
}

Result<std::vector<HiveValue>> StateStore::hive_list(std::string_view path_prefix) {
  return guarded([&]() -> Result<std::vector<HiveValue>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT path, name, value FROM hive_keys WHERE substr(path, 1, length(?1)) = ?1 "
                                "ORDER BY path, name");
    statement.bind(1, path_prefix);
    std::vector<HiveValue> values;
    while (statement.step()) values.push_back({statement.text(0), statement.text(1), statement.text(2)});
    return values;
  });
}

Result<int64_t> StateStore::hive_delete(std::string_view path) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "DELETE FROM hive_keys WHERE path = ?");
    statement.bind(1, path).run();
    return static_cast<int64_t>(sqlite3_changes(db_.handle()));
  });
}

Result<int64_t> StateStore::data_version() {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "PRAGMA data_version");
    statement.step();
    return statement.integer(0);
  });
}

}  // namespace vigil
