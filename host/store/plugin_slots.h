// Where each module's plugin comes from, for signed plugin updates
// (docs/design/self-patch.md): the file the package installed ("factory") or
// one of two slots, a and b, under <data>/plugin-slots/<module>/, each with
// the version and sha256 the signed targets metadata gave it; the versions
// found bad (never loaded again); the history of swaps. A part of StateStore
// (state_store.h): store.plugin_slots().
//
// Each change is written with synchronous=FULL: it announces an action on
// files (a verified download now in a slot, a swap about to start), so it
// must survive a power cut.
#pragma once

#include <cstdint>
#include <filesystem>
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
  // Bytes fetched to stage it: the download that completed it and the
  // update check's metadata; 0 when it was staged again from a slot.
  int64_t downloaded = 0;
};

struct PluginSlotState {
  std::string module;
  std::string active = "factory";  // factory, a or b
  std::string previous;            // what a revert goes back to ("" : nothing)
  // stable; staged: a verified file waits in the inactive slot; swapping: the
  // old version is being unloaded for `active`; probing: `active` runs and is
  // watched until probe_deadline.
  std::string state = "stable";
  SlotFile a, b;
  int64_t changed_at = 0;
  std::filesystem::path factory_file;  // the package's file a slot stands in for
  std::string factory_sha256;          // its bytes then: other bytes mean a package upgrade replaced it
  int64_t probe_deadline = 0;
  int64_t attempts = 0;  // swaps interrupted by a worker's death (not by the new version's fault)

  // The slot a new download goes to: never the active one.
  std::string inactive() const { return active == "a" ? "b" : "a"; }
  SlotFile& file(const std::string& slot) { return slot == "a" ? a : b; }
  const SlotFile& file(const std::string& slot) const { return slot == "a" ? a : b; }
};

// <data>/plugin-slots/<module>/<slot>.so
inline std::filesystem::path plugin_slot_file(const std::filesystem::path& data_dir, const std::string& module,
                                              const std::string& slot) {
  return data_dir / "plugin-slots" / module / (slot + ".so");
}

// One line of a module's upgrade history.
struct UpgradeRecord {
  int64_t at = 0;
  std::string module;
  std::string from_version, to_version;
  std::string outcome;  // active, reverted, refused, rolled back, replaced by package
  std::string reason;
  int64_t swap_ms = -1;           // command to the new version running; -1: not measured
  int64_t revert_ms = -1;         // failure seen to the old version running again
  int64_t bytes_downloaded = -1;  // what staging the new version fetched (SlotFile::downloaded); -1: none
  // Set: the file (module, bad_sha256) is never loaded or swapped to again.
  std::string bad_sha256;
};

class PluginSlots {
 public:
  PluginSlots(std::mutex& mutex, sqlite::Database& db) : mutex_(mutex), db_(db) {}
  PluginSlots(const PluginSlots&) = delete;
  PluginSlots& operator=(const PluginSlots&) = delete;

  // The module's row; a module never updated has none (it runs its factory file).
  Result<std::optional<PluginSlotState>> get(const std::string& module);
  Result<std::vector<PluginSlotState>> all();
  // The row and, in the same transaction, a history line (and its bad version).
  Status put(const PluginSlotState& state, const UpgradeRecord* record = nullptr);

  // Records `file` as staged in `slot`, unless the row changed since it was
  // read as `before` (a swap started meanwhile, or `slot` became active):
  // then false, and nothing is written.
  Result<bool> stage(const PluginSlotState& before, const std::string& slot, const SlotFile& file, int64_t now);
  // Why (module, sha256) is bad, when it is.
  Result<std::optional<std::string>> bad_reason(const std::string& module, const std::string& sha256);
  // The newest history line of `module` gets its revert time.
  Status set_revert_ms(const std::string& module, int64_t revert_ms);
  // Newest first; at most `limit` (the table keeps the last 100 per module).
  Result<std::vector<UpgradeRecord>> history(const std::string& module, int limit = 100);

 private:
  // With mutex_ held.
  std::optional<PluginSlotState> read_locked(const std::string& module);
  void write_locked(const PluginSlotState& state, const UpgradeRecord* record);

  std::mutex& mutex_;
  sqlite::Database& db_;
};

}  // namespace vigil
