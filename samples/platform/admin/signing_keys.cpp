// admin signing-keys init|rotate|show: the keys that sign plugin updates
// (docs/platform.md, "Signed plugin updates"); admin protection-key: a key,
// signed by the root keys, that lets one agent be stopped or unprotected
// (docs/self-protection.md).
#include <iostream>
#include <memory>

#include "admin.h"
#include "update_repository.h"
#include "vigil/tuf/protection_key.h"

namespace vigil::platform::admin {

namespace fs = std::filesystem;
using nlohmann::json;

Runner define_signing_keys(CLI::App& command) {
  struct Options {
    std::string action;
    int keys = 1, threshold = 1;
    std::string role;
  };
  auto options = std::make_shared<Options>();
  command.require_subcommand(1);
  auto* init = command.add_subcommand("init", "make the keys and publish the first metadata");
  init->add_option("--keys", options->keys, "keys per role (default 1)")->check(CLI::Range(1, 16));
  init->add_option("--threshold", options->threshold, "signatures each role needs (default 1)")
      ->check(CLI::Range(1, 16));
  auto* rotate = command.add_subcommand("rotate", "replace a role's keys; root is renewed this way too");
  rotate->add_option("--role", options->role, "root, targets, snapshot or timestamp")
      ->required()
      ->check(CLI::IsMember({"root", "targets", "snapshot", "timestamp"}));
  auto* show = command.add_subcommand("show", "key ids, versions and days left per role (JSON)");
  for (auto* subcommand : {init, rotate, show}) {
    subcommand->callback([options, name = subcommand->get_name()] { options->action = name; });
  }
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    UpdateRepository updates(store.db(), signing_key_dir(data));
    if (options->action == "init") {
      updates.init(options->keys, options->threshold, unix_time());
    } else if (options->action == "rotate") {
      tuf::Role role = options->role == "root"       ? tuf::Role::kRoot
                       : options->role == "targets"  ? tuf::Role::kTargets
                       : options->role == "snapshot" ? tuf::Role::kSnapshot
                                                     : tuf::Role::kTimestamp;
      updates.rotate(role, unix_time());
    }
    if (options->action != "show") store.bump_generation();
    json shown = updates.show(unix_time());
    for (const json& warning : shown["warnings"]) std::cerr << "warning: " << warning.get<std::string>() << "\n";
    std::cout << shown.dump(2) << "\n";
  };
}

Runner define_protection_key(CLI::App& command) {
  struct Options {
    std::string agent_id;
    int hours = static_cast<int>(tuf::kProtectionKeyDefaultLife / 3600);
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--agent", options->agent_id, "the agent's id")->required();
  command.add_flag("--json", options->json, "print {\"agent_id\", \"hours\", \"key\"} instead of the key alone");
  command.add_option("--hours", options->hours, "how long the key is valid (default 24, at most 168)")
      ->check(CLI::Range(1, static_cast<int>(tuf::kProtectionKeyMaxLife / 3600)));
  return [options](const fs::path& data) {
    PlatformStore store = open_store(data);
    require_agent(store, options->agent_id);
    UpdateRepository updates(store.db(), signing_key_dir(data));
    std::string key = updates.protection_key(options->agent_id, unix_time(), int64_t{options->hours} * 3600);
    if (options->json) {
      std::cout << nlohmann::json{{"agent_id", options->agent_id}, {"hours", options->hours}, {"key", key}}.dump()
                << "\n";
    } else {
      std::cout << key << "\n";
    }
  };
}

}  // namespace vigil::platform::admin
