// The plugin_crashes table.
#include "store/plugin_crashes.h"

#include <sqlite3.h>

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

Result<int64_t> PluginCrashes::record(std::string_view module, std::string_view reason, int64_t when) {
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

Result<int64_t> PluginCrashes::count(std::string_view module) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT crashes FROM plugin_crashes WHERE module = ?");
    statement.bind(1, module);
    return statement.step() ? statement.integer(0) : 0;
  });
}

Result<bool> PluginCrashes::forget(std::string_view module) {
  return guarded([&]() -> Result<bool> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "DELETE FROM plugin_crashes WHERE module = ?");
    statement.bind(1, module).run();
    return sqlite3_changes(db_.handle()) > 0;
  });
}

}  // namespace vigil
