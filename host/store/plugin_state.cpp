// The plugin_state table.
#include "store/plugin_state.h"

#include <sqlite3.h>

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

Result<std::optional<std::string>> PluginState::get(std::string_view module, std::string_view key) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT value FROM plugin_state WHERE module = ? AND key = ?");
    statement.bind(1, module).bind(2, key);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status PluginState::set(std::string_view module, std::string_view key, std::string_view value) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "INSERT INTO plugin_state (module, key, value) VALUES (?, ?, ?) "
                                "ON CONFLICT (module, key) DO UPDATE SET value = excluded.value");
    statement.bind(1, module).bind(2, key).bind(3, value).run();
    return Status::Ok();
  });
}

Result<bool> PluginState::remove(std::string_view module, std::string_view key) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "DELETE FROM plugin_state WHERE module = ? AND key = ?");
    statement.bind(1, module).bind(2, key).run();
    return sqlite3_changes(db_.handle()) > 0;
  });
}

}  // namespace vigil
