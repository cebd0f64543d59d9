// vigilctl config set|get|show|unset: the agent's settings (docs/vigilctl.md).
// vigilctl validates every value of a call against the settings registry and
// the modules' declarations, then writes them in one transaction, whether or
// not vigild runs; a running vigild is told, applies what applies live and the
// command names the keys that wait for a restart.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <set>

#include "control_socket/control_client.h"
#include "link/protection_key.h"
#include "settings/catalog.h"
#include "store/config_table.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

namespace {

using nlohmann::json;

constexpr const char* kMask = "********";

struct ConfigOptions {
  std::vector<std::string> words;  // set: Key=Value; unset: Key
  std::string key;                 // get
  std::string sp_key;              // set, unset: turning SelfProtection off
  bool as_json = false;
  CLI::App* set = nullptr;
  CLI::App* get = nullptr;
  CLI::App* show = nullptr;
};

// The store, created when vigild never ran (settings may precede the first start).
std::unique_ptr<StateStore> open_store(const Paths& paths) {
  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) {
    fail(store.error());
    return nullptr;
  }
  return std::move(store.value());
}

std::string shown(const settings::Setting* setting, const std::string& value) {
  return setting != nullptr && setting->secret ? kMask : value;
}

// Tells a running vigild which keys changed; returns what applies when:
// {"vigild_running", "restart_needed": ["Key (why)", …]}; null when vigild
// refused (the reason printed).
json announce(const Paths& paths, const settings::Catalog& catalog, const std::vector<std::string>& keys) {
  json restart = json::array();
  for (const std::string& key : keys) {
    auto resolved = catalog.resolve(key);
    if (resolved.ok() && resolved.value().setting != nullptr && !resolved.value().setting->live) {
      restart.push_back(key + " (" + resolved.value().setting->applies + ")");
    }
  }
  if (!daemon_running(paths.control_socket())) return {{"vigild_running", false}, {"restart_needed", json::array()}};
  if (!request(paths, {{"command", "config_changed"}, {"keys", keys}})) return nullptr;
  return {{"vigild_running", true}, {"restart_needed", restart}};
}

// Prints what set or unset changed ({"key", "value"}, null: back to its
// default) and when it applies, as text or JSON.
int report_changes(const Paths& paths, const settings::Catalog& catalog, const json& changed, bool as_json) {
  std::vector<std::string> keys;
  for (const json& change : changed) keys.push_back(change["key"]);
  json applies = announce(paths, catalog, keys);
  if (applies.is_null()) return kRuntimeError;
  if (as_json) {
    applies["changed"] = changed;
    print_json(applies);
    return kOk;
  }
  for (const json& change : changed) {
    std::cout << change["key"].get<std::string>()
              << (change["value"].is_null() ? ": back to its default" : " = " + change["value"].get<std::string>())
              << "\n";
  }
  if (!applies["vigild_running"].get<bool>()) {
    std::cout << "vigild is not running: it uses the new values when it starts\n";
    return kOk;
  }
  for (const json& key : applies["restart_needed"])
    std::cout << "restart vigild to apply " << key.get<std::string>() << "\n";
  if (applies["restart_needed"].size() < keys.size())
    std::cout << "the running vigild applies the others at once or where it next uses them\n";
  return kOk;
}

// Turning self-protection off (or back to its default, off) needs a platform key for this agent.
bool protection_change_allowed(StateStore& store,
                               const std::vector<std::pair<std::string, std::optional<std::string>>>& changes,
                               const std::string& given_key) {
  auto off = std::find_if(changes.begin(), changes.end(), [](const auto& change) {
    if (change.first != "SelfProtection") return false;
    if (!change.second) return true;
    auto value = settings::boolean_value(*change.second);
    return value.ok() && !value.value();
  });
  if (off == changes.end() || !link::self_protection_on(store)) return true;
  std::string key = sp_key_text(given_key);
  if (key.empty()) {
    fail(
        "config: turning SelfProtection off needs --sp-key KEY, a key for this agent from its platform "
        "(vigil-platform admin protection-key --agent ID); nothing was changed");
    return false;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  if (Status checked = link::check_protection_key(store, key, now.count()); !checked) {
    fail("config: " + checked.error() + "; nothing was changed");
    return false;
  }
  return true;
}

int run_set(const Paths& paths, const ConfigOptions& options) {
  std::vector<std::pair<std::string, std::string>> given;
  for (const std::string& word : options.words) {
    auto pair = settings::parse_assignment(word);
    if (!pair.ok()) {
      std::cerr << "vigilctl: config set: " << pair.error() << "\n";
      return kUsageError;
    }
    given.push_back(std::move(pair.value()));
  }
  auto store = open_store(paths);
  if (!store) return kRuntimeError;
  auto catalog = settings::Catalog::load(store->config());
  if (!catalog.ok()) return fail(catalog.error());
  // Every value is checked before anything is written: one bad value writes none.
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  std::vector<std::string> keys, problems;
  for (const auto& [key, value] : given) {
    auto canonical = catalog.value().validate(key, value);
    if (!canonical.ok()) {
      problems.push_back(canonical.error());
    } else if (std::find(keys.begin(), keys.end(), canonical.value()) != keys.end()) {
      problems.push_back(canonical.value() + " is given twice");
    } else {
      keys.push_back(canonical.value());
      changes.emplace_back(canonical.value(), value);
    }
  }
  if (!problems.empty()) {
    for (const std::string& problem : problems) std::cerr << "vigilctl: config set: " << problem << "\n";
    std::cerr << "vigilctl: config set: nothing was changed\n";
    return kRuntimeError;
  }
  if (!protection_change_allowed(*store, changes, options.sp_key)) return kRuntimeError;
  if (Status saved = store->config().update(changes); !saved.ok()) return fail(saved.error());
  json changed = json::array();
  for (const auto& [key, value] : changes) {
    changed.push_back({{"key", key}, {"value", shown(catalog.value().resolve(key).value().setting, *value)}});
  }
  return report_changes(paths, catalog.value(), changed, options.as_json);
}

int run_unset(const Paths& paths, const ConfigOptions& options) {
  auto store = open_store(paths);
  if (!store) return kRuntimeError;
  auto catalog = settings::Catalog::load(store->config());
  if (!catalog.ok()) return fail(catalog.error());
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  std::vector<std::string> keys;
  for (const std::string& key : options.words) {
    auto resolved = catalog.value().resolve(key);
    if (!resolved.ok()) return fail("config unset: " + resolved.error() + "; nothing was changed");
    const settings::Setting* setting = resolved.value().setting;
    if (setting != nullptr && setting->access != settings::Access::kOperator) {
      return fail("config unset: " + resolved.value().key + " is " +
                  (setting->access == settings::Access::kInternal ? "written by the agent itself"
                                                                  : "set with " + setting->owner) +
                  "; nothing was changed");
    }
    keys.push_back(resolved.value().key);
    changes.emplace_back(resolved.value().key, std::nullopt);
  }
  if (!protection_change_allowed(*store, changes, options.sp_key)) return kRuntimeError;
  if (Status saved = store->config().update(changes); !saved.ok()) return fail(saved.error());
  json changed = json::array();
  for (const std::string& key : keys) changed.push_back({{"key", key}, {"value", nullptr}});
  return report_changes(paths, catalog.value(), changed, options.as_json);
}

// One row of `config show`.
struct Row {
  std::string key;
  std::optional<std::string> value;  // stored
  const settings::Setting* setting = nullptr;
};

json row_json(const Row& row) {
  const settings::Setting* setting = row.setting;
  bool secret = setting != nullptr && setting->secret;
  json entry = {{"key", row.key},
                {"value", row.value ? json(secret ? kMask : *row.value) : json(nullptr)},
                {"source", row.value ? "set" : "default"}};
  if (setting == nullptr) {
    entry.update({{"default", nullptr}, {"applies", "undeclared module key: not validated"}});
    return entry;
  }
  entry.update({{"default", setting->default_value.empty() ? json(nullptr) : json(setting->default_value)},
                {"kind", settings::kind_name(setting->kind)},
                {"allowed", settings::allowed_values(*setting)},
                {"live", setting->live},
                {"applies", setting->live ? setting->applies : "restart: " + setting->applies},
                {"secret", secret},
                {"access", setting->access == settings::Access::kOperator  ? "config"
                           : setting->access == settings::Access::kCommand ? setting->owner
                                                                           : "internal"},
                {"description", setting->description}});
  if (!setting->module.empty()) entry["module"] = setting->module;
  return entry;
}

std::vector<Row> all_rows(StateStore& store, const settings::Catalog& catalog) {
  auto stored = store.config().all();
  std::map<std::string, std::string> values;
  if (stored.ok()) values.insert(stored.value().begin(), stored.value().end());
  std::vector<Row> rows;
  std::set<std::string> listed;
  auto add = [&](const std::string& key, const settings::Setting* setting) {
    auto found = values.find(key);
    rows.push_back({key, found == values.end() ? std::nullopt : std::optional<std::string>(found->second), setting});
    listed.insert(key);
  };
  for (const settings::Setting& setting : settings::builtin()) {
    if (setting.scope != settings::Scope::kModule) add(setting.name, &setting);
  }
  for (const auto& [module, declared] : catalog.modules()) {
    for (const settings::Setting& setting : declared) add(module + "." + setting.name, &setting);
  }
  // Module keys set for one module, and keys no registry knows (an older agent's, or written by hand).
  for (const auto& [key, value] : values) {
    if (listed.count(key) > 0) continue;
    auto resolved = catalog.resolve(key);
    add(key, resolved.ok() ? resolved.value().setting : nullptr);
  }
  return rows;
}

int run_show(const Paths& paths, const ConfigOptions& options) {
  auto store = open_store(paths);
  if (!store) return kRuntimeError;
  auto catalog = settings::Catalog::load(store->config());
  if (!catalog.ok()) return fail(catalog.error());
  std::vector<Row> rows = all_rows(*store, catalog.value());
  json report = json::array();
  for (const Row& row : rows) report.push_back(row_json(row));
  if (options.as_json) {
    print_json(report);
    return kOk;
  }
  // Long values are cut in the table (--json has them whole).
  auto cell = [](const json& value, size_t width) {
    std::string text = value.is_null() ? "-" : value.get<std::string>();
    return text.size() > width - 2 ? text.substr(0, width - 3) + "~" : text;
  };
  size_t width = 3;
  for (const Row& row : rows) width = std::max(width, row.key.size());
  auto line = [&](const std::string& key, const std::string& value, const std::string& fallback,
                  const std::string& source, const std::string& applies) {
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << key << std::setw(24) << value << std::setw(16)
              << fallback << std::setw(9) << source << applies << "\n";
  };
  line("KEY", "VALUE", "DEFAULT", "SOURCE", "APPLIES");
  for (const json& entry : report) {
    line(entry["key"].get<std::string>(), cell(entry["value"], 24), cell(entry["default"], 16),
         entry["source"].get<std::string>(), entry["applies"].get<std::string>());
  }
  return kOk;
}

int run_get(const Paths& paths, const ConfigOptions& options) {
  auto store = open_store(paths);
  if (!store) return kRuntimeError;
  auto catalog = settings::Catalog::load(store->config());
  if (!catalog.ok()) return fail(catalog.error());
  auto resolved = catalog.value().resolve(options.key);
  if (!resolved.ok()) return fail("config get: " + resolved.error());
  const settings::Setting* setting = resolved.value().setting;
  auto value = store->config().get(resolved.value().key);
  if (!value.ok()) return fail(value.error());
  json found;
  if (value.value()) {
    found = {{"key", resolved.value().key}, {"value", shown(setting, *value.value())}, {"source", "set"}};
  } else if (setting != nullptr && !setting->default_value.empty()) {
    found = {{"key", resolved.value().key}, {"value", setting->default_value}, {"source", "default"}};
    std::cerr << "vigilctl: " << resolved.value().key << " is not set: that is its default\n";
  } else {
    return fail(resolved.value().key + " is not set" +
                (setting != nullptr && !setting->description.empty() ? " (" + setting->description + ")" : ""));
  }
  if (options.as_json) {
    print_json(found);
  } else {
    std::cout << found["value"].get<std::string>() << "\n";
  }
  return kOk;
}

}  // namespace

Runner define_config(CLI::App& command) {
  command.require_subcommand(1);
  auto options = std::make_shared<ConfigOptions>();
  options->set = command.add_subcommand("set", "Validate Key=Value settings and save them all, or none");
  options->set->add_option("settings", options->words, "Key=Value (module keys: <module>.Key=Value)")->required();
  add_sp_key_option(*options->set, options->sp_key);
  options->get = command.add_subcommand("get", "Print one setting (its default when unset; secrets masked)");
  options->get->add_option("key", options->key, "Key")->required();
  options->show = command.add_subcommand("show", "Every setting: value, default, source, when it applies");
  auto* unset = command.add_subcommand("unset", "Put settings back to their default");
  unset->add_option("keys", options->words, "Keys")->required();
  add_sp_key_option(*unset, options->sp_key);
  for (CLI::App* sub : {options->set, options->get, options->show, unset}) add_json_flag(*sub, options->as_json);
  return [options](const Paths& paths) {
    if (options->set->parsed()) return run_set(paths, *options);
    if (options->get->parsed()) return run_get(paths, *options);
    if (options->show->parsed()) return run_show(paths, *options);
    return run_unset(paths, *options);
  };
}

}  // namespace vigil::ctl
