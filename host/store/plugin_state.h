// Values a plugin keeps across scans and restarts (the SDK's state_get,
// state_set, state_delete), per module. A part of StateStore
// (state_store.h): store.plugin_state().
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}

class PluginState {
 public:
  PluginState(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  PluginState(const PluginState&) = delete;
  PluginState& operator=(const PluginState&) = delete;

  Result<std::optional<std::string>> get(std::string_view module, std::string_view key);
  Status set(std::string_view module, std::string_view key, std::string_view value);
  // True when a value was deleted.
  Result<bool> remove(std::string_view module, std::string_view key);

 private:
  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
