// The agent's configuration in the state store (key = value; the settings
// registry, settings/, gives each key its meaning), and the settings each
// module declared. A part of StateStore (state_store.h): store.config().
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}

class ConfigTable {
 public:
  ConfigTable(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  ConfigTable(const ConfigTable&) = delete;
  ConfigTable& operator=(const ConfigTable&) = delete;

  Result<std::optional<std::string>> get(std::string_view key);
  Status set(std::string_view key, std::string_view value);
  Result<std::vector<std::pair<std::string, std::string>>> all();
  // Sets every value with a string and deletes every key mapped to nullopt, in
  // one transaction: all of it happens or none of it.
  Status update(const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);

  // The settings each module declared (settings/catalog.h encodes
  // them), kept so that vigilctl validates module keys while vigild is down.
  Result<std::vector<std::pair<std::string, std::string>>> module_settings();
  // Replaces the module's declarations; nullopt forgets them.
  Status set_module_settings(std::string_view module, const std::optional<std::string>& declarations);

 private:
  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
