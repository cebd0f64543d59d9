// The manifests table.
#include "store/manifests.h"

#include <sqlite3.h>

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

Status Manifests::put(const Manifest& manifest) {
  return guarded([&]() -> Status {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(
        db_,
        "INSERT INTO manifests (module, manifest_type, version, body, source) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (module, manifest_type) DO UPDATE SET "
        "version = excluded.version, body = excluded.body, source = excluded.source");
    statement.bind(1, manifest.module)
        .bind(2, manifest.manifest_type)
        .bind(3, manifest.version)
        .bind(4, manifest.body)
        .bind(5, manifest.source)
        .run();
    return Status::Ok();
  });
}

Result<std::optional<Manifest>> Manifests::get(std::string_view module, std::string_view manifest_type) {
  return guarded([&]() -> Result<std::optional<Manifest>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT version, body, source FROM manifests WHERE module = ? AND manifest_type = ?");
    statement.bind(1, module).bind(2, manifest_type);
    if (!statement.step()) return std::optional<Manifest>();
    return std::optional<Manifest>(Manifest{std::string(module), std::string(manifest_type), statement.text(0),
                                            statement.text(1), statement.text(2)});
  });
}

Result<std::vector<Manifest>> Manifests::of_module(std::string_view module) {
  return guarded([&]() -> Result<std::vector<Manifest>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT manifest_type, version, body, source FROM manifests WHERE module = ? "
                                "ORDER BY manifest_type");
    statement.bind(1, module);
    std::vector<Manifest> found;
    while (statement.step()) {
      found.push_back(
          Manifest{std::string(module), statement.text(0), statement.text(1), statement.text(2), statement.text(3)});
    }
    return found;
  });
}

Result<std::vector<Manifest>> Manifests::from_source(std::string_view source) {
  return guarded([&]() -> Result<std::vector<Manifest>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_,
                                "SELECT module, manifest_type, version FROM manifests WHERE source = ? "
                                "ORDER BY module, manifest_type");
    statement.bind(1, source);
    std::vector<Manifest> found;
    while (statement.step()) {
      found.push_back(Manifest{statement.text(0), statement.text(1), statement.text(2), "", std::string(source)});
    }
    return found;
  });
}

Result<int64_t> Manifests::remove(std::string_view module, std::string_view manifest_type) {
  return guarded([&]() -> Result<int64_t> {
    std::lock_guard lock(mutex_);
    // Two statements: an empty string_view may bind as NULL, which no comparison matches.
    sqlite::Statement statement(db_, manifest_type.empty()
                                         ? "DELETE FROM manifests WHERE module = ?"
                                         : "DELETE FROM manifests WHERE module = ? AND manifest_type = ?");
    statement.bind(1, module);
    if (!manifest_type.empty()) statement.bind(2, manifest_type);
    statement.run();
    return static_cast<int64_t>(sqlite3_changes(db_.handle()));
  });
}

}  // namespace vigil
