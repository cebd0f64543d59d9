// The update_metadata table.
#include "store/update_metadata.h"

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

Result<std::optional<std::string>> UpdateMetadata::load(const std::string& role) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT bytes FROM update_metadata WHERE role = ?");
    statement.bind(1, role);
    if (!statement.step()) return std::optional<std::string>();
    return std::optional<std::string>(statement.text(0));
  });
}

Status UpdateMetadata::save(const std::string& role, int64_t version, int64_t expires, const std::string& bytes) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    DurableWrites durable(db_);
    sqlite::Statement(db_,
                      "INSERT INTO update_metadata (role, version, expires, bytes) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (role) DO UPDATE SET version = excluded.version, expires = excluded.expires, "
                      "bytes = excluded.bytes")
        .bind(1, role)
        .bind(2, version)
        .bind(3, expires)
        .bind_blob(4, bytes)
        .run();
    return Status::Ok();
  });
}

Status UpdateMetadata::erase(const std::string& role) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement(db_, "DELETE FROM update_metadata WHERE role = ?").bind(1, role).run();
    return Status::Ok();
  });
}

Status UpdateMetadata::clear() {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    db_.exec("DELETE FROM update_metadata");
    return Status::Ok();
  });
}

Result<std::vector<StoredMetadata>> UpdateMetadata::summary() {
  return guarded([&]() -> Result<std::vector<StoredMetadata>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT role, version, expires FROM update_metadata ORDER BY role");
    std::vector<StoredMetadata> stored;
    while (statement.step()) stored.push_back({statement.text(0), statement.integer(1), statement.integer(2)});
    return stored;
  });
}

}  // namespace vigil
