// admin key-create, activate, deactivate: activation keys and the modules
// their agents run.
#include <algorithm>
#include <iostream>
#include <memory>

#include "admin.h"
#include "vigil/crypto/random.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct KeyModules {
  std::string key_id;
  std::vector<std::string> modules;
};

// activate and deactivate: the same options, one change to the key's list.
Runner define_module_change(CLI::App& command, bool activate) {
  auto options = std::make_shared<KeyModules>();
  command.add_option("--key", options->key_id)->required();
  command.add_option("--module", options->modules)->required();
  return [options, activate](const fs::path& data) {
    PlatformStore store = open_store(data);
    ActivationKey key = require_key(store, options->key_id);
    for (const auto& name : options->modules) {
      auto found = std::find(key.modules.begin(), key.modules.end(), name);
      if (activate && found == key.modules.end()) key.modules.push_back(name);
      if (!activate && found != key.modules.end()) key.modules.erase(found);
    }
    std::sort(key.modules.begin(), key.modules.end());
    store.put_key(key);
    std::cout << json(key.modules).dump() << "\n";
  };
}

}  // namespace

Runner define_key_create(CLI::App& command) {
  struct Options {
    std::string customer;
    std::vector<std::string> modules;
    std::vector<std::string> tags;
    std::string profile = "default";
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--customer", options->customer, "the customer id (admin init prints it)")->required();
  command.add_flag("--json", options->json, "print {\"id\": ...} instead of the id alone");
  command.add_option("--module", options->modules, "modules it activates");
  command.add_option("--tag", options->tags, "tags of its agents");
  command.add_option("--profile", options->profile, "configuration profile")->capture_default_str();
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    if (!store.customer_exists(options->customer)) throw std::runtime_error("no customer " + options->customer);
    if (!store.profile(options->profile)) throw std::runtime_error("no profile " + options->profile);
    std::string id = crypto::random_uuid();
    store.put_key({id, options->customer, options->modules, options->tags, options->profile});
    std::cout << (options->json ? json{{"id", id}}.dump() : id) << "\n";
  };
}

Runner define_activate(CLI::App& command) {
  return define_module_change(command, true);
}

Runner define_deactivate(CLI::App& command) {
  return define_module_change(command, false);
}

}  // namespace vigil::platform::admin
