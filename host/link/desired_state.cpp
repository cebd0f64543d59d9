#include "link/desired_state.h"

#include "link/identity.h"
#include "settings/reader.h"
#include "store/config_table.h"
#include "store/manifests.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace vigil {

using nlohmann::json;
namespace keys = link_keys;

ConfigChanges desired_state_config(const v1::DesiredState& state,
                                   const std::vector<std::pair<std::string, std::string>>& current) {
  ConfigChanges config;
  // Per-module values the profile no longer carries go back to their defaults.
  for (const auto& [key, value] : current) {
    bool per_module = key.ends_with(".ScanInterval") || key.ends_with(".CpuLimit") || key.ends_with(".PluginPin");
    if (per_module) config.emplace_back(key, std::nullopt);
  }
  // Only names a module could have become config keys.
  auto module_name = [](const std::string& name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '_' || c == '-';
    });
  };
  const v1::Profile& profile = state.profile();
  for (const auto& [module, seconds] : profile.scan_interval_seconds()) {
    if (module_name(module) && seconds > 0) config.emplace_back(module + ".ScanInterval", std::to_string(seconds));
  }
  for (const auto& [module, percent] : profile.cpu_limit_percent()) {
    if (module_name(module) && percent >= 1 && percent <= 100) {
      config.emplace_back(module + ".CpuLimit", std::to_string(percent));
    }
  }
  config.emplace_back(keys::kCheckinInterval,
                      profile.checkin_interval_seconds() > 0
                          ? std::optional<std::string>(std::to_string(profile.checkin_interval_seconds()))
                          : std::nullopt);
  config.emplace_back("BlackoutWindows", profile.blackout_windows().empty()
                                             ? std::nullopt
                                             : std::optional<std::string>(profile.blackout_windows()));
  // LogLevel is a local setting too: a profile that stops carrying log_level
  // takes back the value it set (the default again), not a local change made since.
  auto current_value = [&](const std::string& name) -> std::optional<std::string> {
    for (const auto& [key, value] : current) {
      if (key == name) return value;
    }
    return std::nullopt;
  };
  if (profile.log_level() >= 0 && profile.log_level() <= 5) {
    config.emplace_back("LogLevel", std::to_string(profile.log_level()));
    config.emplace_back("ProfileLogLevel", std::to_string(profile.log_level()));
  } else if (auto set_by_profile = current_value("ProfileLogLevel")) {
    if (current_value("LogLevel") == set_by_profile) config.emplace_back("LogLevel", std::nullopt);
    config.emplace_back("ProfileLogLevel", std::nullopt);
  }
  for (const auto& [module, version] : profile.plugin_pins()) {
    if (module_name(module) && !version.empty()) config.emplace_back(module + ".PluginPin", version);
  }
  config.emplace_back("AutoUpgrade", profile.auto_upgrade() ? "1" : "0");
  config.emplace_back("SelfProtection", profile.self_protection() ? "1" : "0");
  config.emplace_back("UpgradeWindow", profile.upgrade_window().empty()
                                           ? std::nullopt
                                           : std::optional<std::string>(profile.upgrade_window()));
  config.emplace_back("Profile", profile.name());
  std::vector<std::string> activated;
  for (const auto& module : state.activated_modules()) {
    if (module_name(module)) activated.push_back(module);
  }
  std::sort(activated.begin(), activated.end());
  activated.erase(std::unique(activated.begin(), activated.end()), activated.end());
  config.emplace_back(keys::kActivatedModules, json(activated).dump());
  config.emplace_back("StateVersion", state.version());
  return config;
}

std::optional<std::vector<std::string>> activated_modules(StateStore& store) {
  auto value = store.config().get(keys::kActivatedModules);
  if (!value.ok() || !value.value()) return std::nullopt;
  try {
    return json::parse(*value.value()).get<std::vector<std::string>>();
  } catch (const json::exception&) {
    return std::vector<std::string>();  // unreadable: run nothing until the platform says again
  }
}

Status DesiredStateApplier::apply(const v1::DesiredState& state, const LinkSettings& settings) {
  auto changed = fetch_manifests(state, settings);
  if (!changed.ok()) return Error{changed.error()};
  // Profile and activation in one transaction.
  auto all = store_.config().all();
  if (!all.ok()) return Error{all.error()};
  if (Status saved = store_.config().update(desired_state_config(state, all.value())); !saved.ok()) return saved;
  const v1::Profile& profile = state.profile();
  logs_.daemon()->info(
      "desired state {} applied: profile '{}', check-in every {} s, activated: {}", state.version(), profile.name(),
      profile.checkin_interval_seconds() > 0 ? std::to_string(profile.checkin_interval_seconds())
                                             : settings::setting("CheckinInterval").default_value,
      state.activated_modules().empty() ? std::string("none") : json(state.activated_modules()).dump());
  delegate_.desired_state_applied(changed.value());
  return Status::Ok();
}

Result<std::vector<std::string>> DesiredStateApplier::fetch_manifests(const v1::DesiredState& state,
                                                                      const LinkSettings& settings) {
  std::vector<std::string> changed;
  for (const v1::ManifestVersion& wanted : state.manifests()) {
    auto stored = store_.manifests().get(wanted.module(), wanted.manifest_type());
    if (!stored.ok()) return Error{stored.error()};
    if (stored.value() && stored.value()->version == wanted.version()) continue;
    v1::ManifestRequest request;
    request.set_protocol(v1::PROTOCOL_1);
    request.set_agent_id(settings.agent_id);
    request.set_agent_token(settings.agent_token);
    request.set_module(wanted.module());
    request.set_manifest_type(wanted.manifest_type());
    request.set_os_release(link::os_release_key(root_));
    auto reply =
        connection_.post<v1::ManifestResponse>(PlatformConnection::Channel::kLink, "/v1/manifest", request, "manifest");
    if (!reply.ok()) return Error{"manifest " + wanted.module() + "/" + wanted.manifest_type() + ": " + reply.error()};
    const v1::ManifestResponse& manifest = reply.value();
    Manifest record{wanted.module(), wanted.manifest_type(), manifest.manifest().version(), manifest.body(),
                    "platform"};
    if (Status put = store_.manifests().put(record); !put.ok()) return Error{put.error()};
    logs_.daemon()->info("manifest {}/{} version {} downloaded ({} bytes)", record.module, record.manifest_type,
                         record.version, record.body.size());
    changed.push_back(record.module);
  }
  // A manifest the platform gave and no longer lists goes: the module's
  // default (or a local manifest set later) is in force again. Local ones stay.
  auto given = store_.manifests().from_source("platform");
  if (!given.ok()) return Error{given.error()};
  for (const Manifest& stored : given.value()) {
    bool listed = std::any_of(state.manifests().begin(), state.manifests().end(), [&](const v1::ManifestVersion& m) {
      return m.module() == stored.module && m.manifest_type() == stored.manifest_type;
    });
    if (listed) continue;
    if (auto removed = store_.manifests().remove(stored.module, stored.manifest_type); !removed.ok()) {
      return Error{removed.error()};
    }
    logs_.daemon()->info("manifest {}/{} version {} removed: the platform no longer gives it", stored.module,
                         stored.manifest_type, stored.version);
    changed.push_back(stored.module);
  }
  return changed;
}

}  // namespace vigil
