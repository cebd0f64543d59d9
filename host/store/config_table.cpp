// The config and module_settings tables.
#include "store/config_table.h"

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

Result<std::optional<std::string>> ConfigTable::get(std::string_view key) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT value FROM config WHERE key = ?");
    statement.bind(1, key);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status ConfigTable::set(std::string_view key, std::string_view value) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(
        db_, "INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    statement.bind(1, key).bind(2, value).run();
    return Status::Ok();
  });
}

Status ConfigTable::update(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
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

Result<std::vector<std::pair<std::string, std::string>>> ConfigTable::all() {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  return guarded([&]() -> Result<Pairs> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT key, value FROM config ORDER BY key");
    Pairs pairs;
    while (statement.step()) pairs.emplace_back(statement.text(0), statement.text(1));
    return pairs;
  });
}

Result<std::vector<std::pair<std::string, std::string>>> ConfigTable::module_settings() {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  return guarded([&]() -> Result<Pairs> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT module, declarations FROM module_settings ORDER BY module");
    Pairs pairs;
    while (statement.step()) pairs.emplace_back(statement.text(0), statement.text(1));
    return pairs;
  });
}

Status ConfigTable::set_module_settings(std::string_view module, const std::optional<std::string>& declarations) {
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

}  // namespace vigil
