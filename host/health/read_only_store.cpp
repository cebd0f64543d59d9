#include "health/read_only_store.h"

#include <sqlite3.h>

#include "store/state_store.h"

namespace vigil::health {

ReadOnlyStore::ReadOnlyStore(const std::filesystem::path& path)
    : db_(path.string(), sqlite::Database::Access::kReadOnly) {
  // The running agent may hold a write lock for a moment: wait for it, briefly.
  sqlite3_busy_timeout(db_.handle(), 2000);
}

Result<std::unique_ptr<ReadOnlyStore>> ReadOnlyStore::open(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return Error{"there is no state store at " + path.string()};
  try {
    std::unique_ptr<ReadOnlyStore> store(new ReadOnlyStore(path));
    sqlite::Statement version(store->db_, "PRAGMA user_version");
    version.step();
    int64_t schema = version.integer(0);
    if (schema != StateStore::latest_schema_version()) {
      return Error{"the state store " + path.string() + " has schema version " + std::to_string(schema) +
                   ", this vigilctl reads version " + std::to_string(StateStore::latest_schema_version()) +
                   " (start vigild of this version once to migrate it)"};
    }
    return store;
  } catch (const sqlite::SqliteError& error) {
    return Error{"state store " + path.string() + ": " + error.what()};
  }
}

}  // namespace vigil::health
