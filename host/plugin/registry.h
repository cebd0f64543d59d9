// The plugin registry: which plugins are loaded, which were refused and why,
// and which module handles which manifest type. Not thread-safe: the agent
// uses it on its control thread only; scans hold their own shared_ptr.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/loaded_plugin.h"
#include "vigil/result/result.h"

namespace vigil {

struct PluginRecord {
  std::filesystem::path file;
  std::string module;
  std::string display_name;
  std::string version;
  uint32_t abi_version = 0;
  int32_t kind = 0;
  std::string key_name;
  int32_t cpu_limit = 0;
  std::vector<std::string> manifest_types;
  bool loaded = false;
  std::string reason;        // why it was refused
  bool quarantined = false;  // refused because its module crashed the agent too often (module is set)
};

class PluginRegistry {
 public:
  // Clears services.image_dir: copies a previous worker left behind are stale.
  explicit PluginRegistry(PluginServices services);
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // Loads every "*.so" in `dir` that is not loaded yet, in file name order,
  // but those in `skip` (a plugin slot stands in for them). Returns how many
  // were loaded; refusals are recorded and logged.
  size_t load_directory(const std::filesystem::path& dir, const std::set<std::filesystem::path>& skip = {});
  // Loads one file; returns its module name or the refusal.
  Result<std::string> load_file(const std::filesystem::path& file, const ExpectedPlugin* expected = nullptr);
  // Removes a module and hands it over; the caller drains its scans and drops it.
  std::shared_ptr<LoadedPlugin> detach(std::string_view module);

  std::shared_ptr<LoadedPlugin> find(std::string_view module) const;
  std::vector<std::shared_ptr<LoadedPlugin>> loaded() const;
  // Loaded plugins first, then refusals; each group sorted.
  std::vector<PluginRecord> records() const;
  // Why `module` is quarantined, when it is.
  std::optional<std::string> quarantined(std::string_view module) const;

 private:
  PluginServices services_;
  std::map<std::string, std::shared_ptr<LoadedPlugin>, std::less<>> plugins_;  // by module
  struct Refusal {
    std::string reason;
    std::string module;  // when negotiation got that far
    bool quarantined = false;
  };
  std::map<std::filesystem::path, Refusal> refused_;  // by file
};

}  // namespace vigil
