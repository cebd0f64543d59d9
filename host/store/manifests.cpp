// The manifests table.
#include "store/manifests.h"

#include "store/store_errors.h"
#include "vigil/sqlite/sqlite.h"

namespace vigil {

Status Manifests::put(const Manifest& manifest) {
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

Result<std::optional<Manifest>> Manifests::get(std::string_view module, std::string_view manifest_type) {
  return guarded([&]() -> Result<std::optional<Manifest>> {
    std::lock_guard lock(mutex_);
    sqlite::Statement statement(db_, "SELECT version, body FROM manifests WHERE module = ? AND manifest_type = ?");
    statement.bind(1, module).bind(2, manifest_type);
    if (!statement.step()) return std::optional<Manifest>();
    return std::optional<Manifest>(
        Manifest{std::string(module), std::string(manifest_type), statement.text(0), statement.text(1)});
  });
}

Result<std::vector<Manifest>> Manifests::of_module(std::string_view module) {
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

}  // namespace vigil
