// Crashes of the agent while a module's code ran; the registry quarantines a
// module past a bound. A part of StateStore (state_store.h):
// store.plugin_crashes().
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}

class PluginCrashes {
 public:
  PluginCrashes(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  PluginCrashes(const PluginCrashes&) = delete;
  PluginCrashes& operator=(const PluginCrashes&) = delete;

  // Returns the module's new count.
  Result<int64_t> record(std::string_view module, std::string_view reason, int64_t when);
  Result<int64_t> count(std::string_view module);
  // True when the module had crashes to forget.
  Result<bool> forget(std::string_view module);

 private:
  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
