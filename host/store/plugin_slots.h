// Where each module's plugin comes from, for signed plugin updates
// (docs/design/self-patch.md): the file the package installed ("factory") or
// one of two slots, a and b, under <data>/plugin-slots/<module>/, each with
// the version and sha256 the signed targets metadata gave it. A part of
// StateStore (state_store.h): store.plugin_slots().
//
// Each change is written with synchronous=FULL: it announces an action on
// files (a verified download now in a slot), so it must survive a power cut.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vigil/result/result.h"

namespace vigil {

namespace sqlite {
class Database;
}

struct SlotFile {
  std::string version;
  std::string sha256;
};

struct PluginSlotState {
  std::string module;
  std::string active = "factory";  // factory, a or b
  std::string previous;            // what a revert goes back to
  std::string state = "stable";    // stable, staged (a verified file waits in the inactive slot)
  SlotFile a, b;
  int64_t changed_at = 0;

  // The slot a new download goes to: never the active one.
  std::string inactive() const { return active == "a" ? "b" : "a"; }
  SlotFile& file(const std::string& slot) { return slot == "a" ? a : b; }
  const SlotFile& file(const std::string& slot) const { return slot == "a" ? a : b; }
};

class PluginSlots {
 public:
  PluginSlots(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  PluginSlots(const PluginSlots&) = delete;
  PluginSlots& operator=(const PluginSlots&) = delete;

  // The module's row; a module never updated has none (it runs its factory file).
  Result<std::optional<PluginSlotState>> get(const std::string& module);
  Result<std::vector<PluginSlotState>> all();
  Status put(const PluginSlotState& state);

 private:
  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
