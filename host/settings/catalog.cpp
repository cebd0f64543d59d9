// Resolving and validating keys against the agent's and the modules' settings.
#include "settings/catalog.h"
#include "store/config_table.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace vigil::settings {
namespace {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "CpuLimit, ScanInterval, …": the keys every module has.
std::string every_module_keys() {
  std::string names;
  for (const Setting& setting : builtin()) {
    if (setting.scope != Scope::kAgent) names += (names.empty() ? "" : ", ") + setting.name;
  }
  return names;
}

constexpr Kind kKinds[] = {Kind::kInteger, Kind::kSize, Kind::kBoolean, Kind::kChoice, Kind::kText,
                           Kind::kPath,    Kind::kFile, Kind::kUuid,    Kind::kUrl,    Kind::kTimeWindows};

}  // namespace

bool is_module_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Result<std::pair<std::string, std::string>> parse_assignment(std::string_view word) {
  size_t equals = word.find('=');
  if (equals == std::string_view::npos) return Error{"expected Key=Value, got '" + std::string(word) + "'"};
  std::string_view key = trim(word.substr(0, equals));
  if (key.empty()) return Error{"expected Key=Value, got '" + std::string(word) + "': the key is empty"};
  return std::pair<std::string, std::string>(std::string(key), std::string(word.substr(equals + 1)));
}

std::string encode(const std::vector<Setting>& declared) {
  json list = json::array();
  for (const Setting& setting : declared) {
    list.push_back({{"name", setting.name},
                    {"kind", kind_name(setting.kind)},
                    {"min", setting.min},
                    {"max", setting.max},
                    {"choices", setting.choices},
                    {"default", setting.default_value},
                    {"secret", setting.secret},
                    {"description", setting.description}});
  }
  return list.dump();
}

Result<std::vector<Setting>> decode(const std::string& module, std::string_view text) {
  try {
    std::vector<Setting> declared;
    for (const json& item : json::parse(text)) {
      Setting setting;
      setting.name = item.at("name").get<std::string>();
      std::string kind = item.at("kind").get<std::string>();
      auto found = std::find_if(std::begin(kKinds), std::end(kKinds), [&](Kind k) { return kind_name(k) == kind; });
      if (found == std::end(kKinds)) return Error{"module " + module + ": unknown setting kind '" + kind + "'"};
      setting.kind = *found;
      setting.scope = Scope::kModule;
      setting.min = item.value("min", int64_t{0});
      setting.max = item.value("max", int64_t{0});
      setting.choices = item.value("choices", std::vector<std::string>());
      setting.default_value = item.value("default", "");
      setting.secret = item.value("secret", false);
      setting.description = item.value("description", "");
      setting.applies = "when the module next reads it (its next scan)";
      setting.module = module;
      declared.push_back(std::move(setting));
    }
    return declared;
  } catch (const json::exception& error) {
    return Error{"module " + module + ": unreadable setting declarations: " + error.what()};
  }
}

Result<Catalog> Catalog::load(ConfigTable& config) {
  auto stored = config.module_settings();
  if (!stored.ok()) return Error{stored.error()};
  Declarations modules;
  for (const auto& [module, text] : stored.value()) {
    auto declared = decode(module, text);
    if (!declared.ok()) return Error{declared.error()};
    modules[module] = std::move(declared.value());
  }
  return Catalog(std::move(modules));
}

Result<Resolved> Catalog::resolve(std::string_view key) const {
  size_t dot = key.find('.');
  if (dot == std::string_view::npos) {
    const Setting* setting = find_builtin(key);
    if (setting == nullptr)
      return Error{"unknown setting '" + std::string(key) + "' (vigilctl config show lists them)"};
    if (setting->scope == Scope::kModule) {
      return Error{setting->name + " is a module's setting: write <module>." + setting->name};
    }
    return Resolved{setting->name, "", setting};
  }
  std::string module(key.substr(0, dot));
  std::string_view name = key.substr(dot + 1);
  if (!is_module_name(module)) {
    return Error{"'" + std::string(key) + "': '" + module + "' is not a module name (a-z, 0-9, '_', '-')"};
  }
  if (const Setting* setting = find_builtin(name); setting != nullptr && setting->scope != Scope::kAgent) {
    return Resolved{module + "." + setting->name, module, setting};
  }
  auto declared = modules_.find(module);
  if (declared == modules_.end()) {
    if (name.empty()) return Error{"'" + std::string(key) + "': the setting's name is empty"};
    return Resolved{std::string(key), module, nullptr};
  }
  for (const Setting& setting : declared->second) {
    if (iequals(setting.name, name)) return Resolved{module + "." + setting.name, module, &setting};
  }
  std::string known;
  for (const Setting& setting : declared->second) known += (known.empty() ? "" : ", ") + setting.name;
  return Error{"unknown setting '" + std::string(key) + "': module " + module + " declares " +
               (known.empty() ? std::string("no keys of its own") : known) + "; every module has " +
               every_module_keys()};
}

Result<std::string> Catalog::validate(std::string_view key, std::string_view value) const {
  auto resolved = resolve(key);
  if (!resolved.ok()) return Error{resolved.error()};
  const Resolved& found = resolved.value();
  if (found.setting == nullptr) {
    // A module that declared nothing (built before ABI 1.5): any one line.
    Setting text{.name = found.key};
    if (Status checked = check_value(text, found.key, value); !checked.ok()) return Error{checked.error()};
    return found.key;
  }
  if (found.setting->access == Access::kInternal) {
    return Error{found.key + " is written by the agent itself: it is shown, never set"};
  }
  if (found.setting->access == Access::kCommand) {
    return Error{found.key + " is set with " + found.setting->owner + " (which validates it with what goes with it)"};
  }
  if (Status checked = check_value(*found.setting, found.key, value); !checked.ok()) return Error{checked.error()};
  return found.key;
}

}  // namespace vigil::settings
