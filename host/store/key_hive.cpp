// The hive_keys table.
#include "store/key_hive.h"

#include <sqlite3.h>

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

Result<std::optional<std::string>> KeyHive::get(std::string_view path, std::string_view name) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT value FROM hive_keys WHERE path = ? AND name = ?");
    statement.bind(1, path).bind(2, name);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status KeyHive::set(std::string_view path, std::string_view name, std::string_view value) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "INSERT INTO hive_keys (path, name, value) VALUES (?, ?, ?) "
                                "ON CONFLICT (path, name) DO UPDATE SET value = excluded.value");
    statement.bind(1, path).bind(2, name).bind(3, value).run();
    return Status::Ok();
  });
}

Result<bool> KeyHive::create(std::string_view path, std::string_view name, std::string_view value) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "INSERT OR IGNORE INTO hive_keys (path, name, value) VALUES (?, ?, ?)");
    statement.bind(1, path).bind(2, name).bind(3, value).run();
    return sqlite3_changes(db_.handle()) > 0;
  });
}

Result<std::vector<HiveValue>> KeyHive::list(std::string_view path_prefix) {
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

Result<int64_t> KeyHive::remove(std::string_view path) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "DELETE FROM hive_keys WHERE path = ?");
    statement.bind(1, path).run();
    return static_cast<int64_t>(sqlite3_changes(db_.handle()));
  });
}

}  // namespace vigil
