// vigilctl keys list|get|set: the key hive. It lives in the state store:
// vigilctl reads and writes it directly, whether or not vigild runs; a
// running vigild notices writes at once.
#include <algorithm>
#include <iostream>
#include <set>

#include "store/key_hive.h"
#include "vigilctl/commands/commands.h"

namespace vigil::ctl {

namespace {

struct KeysOptions {
  std::string path, name, value;
  bool as_json = false;
  CLI::App* list = nullptr;
  CLI::App* get = nullptr;
};

// A value `keys set` may write; prints why not otherwise.
bool valid_setting(const KeysOptions& options) {
  static const std::set<std::string> kNames = {"CpuLimit", "ScanOnDemand", "ScanOnStartup"};
  if (options.path.rfind(std::string(kHiveRoot) + "/", 0) != 0 || kNames.count(options.name) == 0) {
    std::cerr << "vigilctl: keys set: expected ScanOnDemand/<KeyName> and one of CpuLimit, ScanOnDemand, "
                 "ScanOnStartup\n";
    return false;
  }
  const std::string& value = options.value;
  bool digits = !value.empty() && value.size() <= 3 &&
                std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    std::cerr << "vigilctl: keys set: " << options.name << " takes a decimal number, got '" << value << "'\n";
    return false;
  }
  return true;
}

// One value of the hive: {"path", "name", "value"}.
nlohmann::json value_json(const std::string& path, const std::string& name, const std::string& value) {
  return {{"path", path}, {"name", name}, {"value", value}};
}

// The same as text: PATH/NAME = VALUE.
void print_value(const nlohmann::json& value) {
  std::cout << value["path"].get<std::string>() << "/" << value["name"].get<std::string>() << " = "
            << value["value"].get<std::string>() << "\n";
}

int list_values(StateStore& store, bool as_json) {
  auto values = store.hive().list(kHiveRoot);
  if (!values.ok()) return fail(values.error());
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& entry : values.value()) listed.push_back(value_json(entry.path, entry.name, entry.value));
  if (as_json) {
    print_json(listed);
  } else {
    for (const auto& value : listed) print_value(value);
  }
  return kOk;
}

int get_value(StateStore& store, const KeysOptions& options) {
  auto found = store.hive().get(options.path, options.name);
  if (!found.ok()) return fail(found.error());
  if (!found.value()) return fail("no value " + options.path + "/" + options.name);
  if (options.as_json) {
    print_json(value_json(options.path, options.name, *found.value()));
  } else {
    std::cout << *found.value() << "\n";
  }
  return kOk;
}

int set_value(StateStore& store, const KeysOptions& options) {
  if (auto existing = store.hive().get(options.path, "ScanOnDemand"); !existing.ok() || !existing.value()) {
    return fail("no key " + options.path +
                " (keys are created when their module is activated; see vigilctl keys list)");
  }
  Status written = store.hive().set(options.path, options.name, options.value);
  if (!written.ok()) return fail(written.error());
  nlohmann::json value = value_json(options.path, options.name, options.value);
  if (options.as_json) {
    print_json(value);
  } else {
    print_value(value);
  }
  return kOk;
}

int run_keys(const Paths& paths, const KeysOptions& options) {
  bool setting = !options.list->parsed() && !options.get->parsed();
  if (setting && !valid_setting(options)) return kUsageError;
  if (!std::filesystem::exists(paths.state_db())) return fail("no state store at " + paths.state_db().string());
  auto store = StateStore::open(paths.state_db());
  if (!store.ok()) return fail(store.error());
  if (options.list->parsed()) return list_values(*store.value(), options.as_json);
  if (options.get->parsed()) return get_value(*store.value(), options);
  return set_value(*store.value(), options);
}

}  // namespace

Runner define_keys(CLI::App& command) {
  command.require_subcommand(1);
  auto options = std::make_shared<KeysOptions>();
  options->list = command.add_subcommand("list", "List every value of the hive");
  options->get = command.add_subcommand("get", "Print one value");
  options->get->add_option("path", options->path, "Key path, e.g. ScanOnDemand/Inventory")->required();
  options->get->add_option("name", options->name, "Value name: CpuLimit, ScanOnDemand, ScanOnStartup")->required();
  auto* set = command.add_subcommand("set", "Write one value (the agent reacts at once)");
  set->add_option("path", options->path, "Key path, e.g. ScanOnDemand/Inventory")->required();
  set->add_option("name", options->name, "Value name: CpuLimit, ScanOnDemand, ScanOnStartup")->required();
  set->add_option("value", options->value, "Value")->required();
  for (CLI::App* sub : {options->list, options->get, set}) add_json_flag(*sub, options->as_json);
  return [options](const Paths& paths) { return run_keys(paths, *options); };
}

}  // namespace vigil::ctl
