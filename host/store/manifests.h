// The modules' manifests in the state store, as the platform (or vigilctl)
// delivered them. A part of StateStore (state_store.h): store.manifests().
// The defaults a plugin ships beside it are not stored: default_manifests.h.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}

struct Manifest {
  std::string module;
  std::string manifest_type;
  std::string version;
  std::string body;
  // Who gave it: "platform", "local" (vigilctl manifest set), or "default"
  // (shipped beside the plugin, never stored).
  std::string source = "platform";
};

class Manifests {
 public:
  Manifests(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  Manifests(const Manifests&) = delete;
  Manifests& operator=(const Manifests&) = delete;

  Status put(const Manifest& manifest);
  Result<std::optional<Manifest>> get(std::string_view module, std::string_view manifest_type);
  // Every manifest stored for `module`, ordered by type.
  Result<std::vector<Manifest>> of_module(std::string_view module);
  // Every stored manifest of `source` ("platform" or "local"), without bodies.
  Result<std::vector<Manifest>> from_source(std::string_view source);
  // Forgets the module's manifest of `manifest_type`, or all of its manifests
  // when it is empty; returns how many were removed.
  Result<int64_t> remove(std::string_view module, std::string_view manifest_type = {});

 private:
  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
