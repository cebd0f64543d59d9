// Plugin registry: loading a directory, refusals, lookups.
#include "plugin/registry.h"

#include <algorithm>
#include <utility>

#include "base/file_safety.h"
#include "log/log_manager.h"
#include "store/plugin_crashes.h"

namespace vigil {

PluginRegistry::PluginRegistry(PluginServices services) : services_(std::move(services)) {
  std::error_code ignored;
  if (!services_.image_dir.empty()) std::filesystem::remove_all(services_.image_dir, ignored);
}

PluginRegistry::~PluginRegistry() {
  for (auto& [module, plugin] : plugins_) plugin->cancel_scans();
  for (auto& [module, plugin] : plugins_) plugin->wait_idle();
}

size_t PluginRegistry::load_directory(const std::filesystem::path& dir, const std::set<std::filesystem::path>& skip) {
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".so" && entry.is_regular_file() && !skip.count(entry.path())) {
      files.push_back(entry.path());
    }
  }
  if (error) {
    services_.logs->daemon()->warn("plugin directory {}: {}", dir.string(), error.message());
    return 0;
  }
  std::sort(files.begin(), files.end());
  size_t count = 0;
  for (const auto& file : files) {
    bool already =
        std::any_of(plugins_.begin(), plugins_.end(), [&](const auto& entry) { return entry.second->file() == file; });
    if (!already && load_file(file).ok()) ++count;
  }
  return count;
}

Result<std::string> PluginRegistry::load_file(const std::filesystem::path& file, const ExpectedPlugin* expected) {
  auto logger = services_.logs->daemon();
  // Anyone who could have written the file would run code as root.
  auto trusted = check_trusted(file, "plugin");
  if (!trusted.ok()) {
    refused_[file] = Refusal{trusted.error(), {}, false};
    logger->error("plugin refused: {}", trusted.error());
    return Error{trusted.error()};
  }
  if (!trusted.value().empty()) logger->warn("{}", trusted.value());
  std::string module_seen;
  auto loaded = LoadedPlugin::load(
      file, services_, [this](std::string_view module) { return find(module) != nullptr; }, &module_seen, expected);
  if (loaded.ok()) {
    // A manifest type has exactly one handler across all plugins.
    for (const std::string& type : loaded.value()->manifest_types()) {
      for (const auto& [module, other] : plugins_) {
        auto types = other->manifest_types();
        if (std::find(types.begin(), types.end(), type) != types.end()) {
          loaded =
              Error{file.string() + ": manifest type '" + type + "' is already handled by module '" + module + "'"};
          break;
        }
      }
      if (!loaded.ok()) break;
    }
  }
  if (!loaded.ok()) {
    bool quarantined = false;
    if (!module_seen.empty() && services_.quarantine_after > 0 && services_.store != nullptr) {
      auto crashes = services_.store->plugin_crashes().count(module_seen);
      quarantined = crashes.ok() && crashes.value() >= services_.quarantine_after;
    }
    refused_[file] = Refusal{loaded.error(), module_seen, quarantined};
    logger->error("plugin refused: {}", loaded.error());
    return Error{loaded.error()};
  }
  refused_.erase(file);
  std::shared_ptr<LoadedPlugin> plugin = loaded.value();
  logger->info("plugin loaded: {} {} (module '{}', ABI {}.{}) from {}", plugin->display_name(), plugin->version(),
               plugin->module(), VIGIL_ABI_MAJOR(plugin->abi_version()), VIGIL_ABI_MINOR(plugin->abi_version()),
               file.string());
  plugins_.emplace(plugin->module(), plugin);
  return plugin->module();
}

std::shared_ptr<LoadedPlugin> PluginRegistry::detach(std::string_view module) {
  auto found = plugins_.find(module);
  if (found == plugins_.end()) return nullptr;
  std::shared_ptr<LoadedPlugin> plugin = std::move(found->second);
  plugins_.erase(found);
  plugin->cancel_scans();
  services_.logs->daemon()->info("plugin unloading: module '{}'", plugin->module());
  return plugin;
}

std::shared_ptr<LoadedPlugin> PluginRegistry::find(std::string_view module) const {
  auto found = plugins_.find(module);
  return found == plugins_.end() ? nullptr : found->second;
}

std::vector<std::shared_ptr<LoadedPlugin>> PluginRegistry::loaded() const {
  std::vector<std::shared_ptr<LoadedPlugin>> list;
  for (const auto& [module, plugin] : plugins_) list.push_back(plugin);
  return list;
}

std::vector<PluginRecord> PluginRegistry::records() const {
  std::vector<PluginRecord> records;
  for (const auto& [module, plugin] : plugins_) {
    const vigil_plugin_host& context = plugin->context();
    records.push_back(PluginRecord{plugin->file(),
                                   module,
                                   plugin->display_name(),
                                   plugin->version(),
                                   plugin->abi_version(),
                                   plugin->kind(),
                                   context.on_demand_key,
                                   context.default_cpu_limit,
                                   plugin->manifest_types(),
                                   true,
                                   {}});
  }
  for (const auto& [file, refusal] : refused_) {
    PluginRecord record;
    record.file = file;
    record.reason = refusal.reason;
    if (refusal.quarantined) record.module = refusal.module;
    record.quarantined = refusal.quarantined;
    records.push_back(std::move(record));
  }
  return records;
}

std::optional<std::string> PluginRegistry::quarantined(std::string_view module) const {
  for (const auto& [file, refusal] : refused_) {
    if (refusal.quarantined && refusal.module == module) return refusal.reason;
  }
  return std::nullopt;
}

}  // namespace vigil
